// Text encodings of engine output: Windows code pages by number, and the labels TextDecoder knows.
// Pure (no node:*): the config parser checks program.engine_encoding with it in the window too.

/**
 * Windows code pages (what `chcp` prints) that the WHATWG encodings TextDecoder implements cover.
 * OEM pages without a WHATWG twin (437, 850, 852 …) are missing on purpose: decoding them as
 * another page would print wrong letters that look right.
 */
const CODE_PAGES: Readonly<Record<number, string>> = {
  65001: 'utf-8',
  936: 'gbk', // Simplified Chinese
  54936: 'gb18030',
  950: 'big5', // Traditional Chinese
  932: 'shift_jis', // Japanese
  949: 'euc-kr', // Korean
  866: 'ibm866', // Cyrillic (DOS)
  874: 'windows-874', // Thai
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  20866: 'koi8-r',
  21866: 'koi8-u',
  28591: 'iso-8859-1',
  28592: 'iso-8859-2',
  28595: 'iso-8859-5',
  28597: 'iso-8859-7',
  28605: 'iso-8859-15',
};

/** The TextDecoder label of a Windows code page number, or null when TextDecoder has none for it. */
export function codePageEncoding(codePage: number): string | null {
  return CODE_PAGES[codePage] ?? null;
}

/**
 * The TextDecoder encoding name for a config value: a label TextDecoder accepts ("gbk",
 * "shift_jis", "windows-1252"), or a code page as `chcp` shows it ("936", "cp936"). null when
 * neither (an unknown name, or a code page TextDecoder can't decode).
 */
export function encodingName(value: string): string | null {
  const text = value.trim().toLowerCase();
  const page = /^(?:cp|windows-|ms)?(\d+)$/.exec(text);
  if (page && CODE_PAGES[Number(page[1])]) return CODE_PAGES[Number(page[1])]!;
  if (text === '') return null;
  try {
    return new TextDecoder(text).encoding;
  } catch {
    return null;
  }
}
