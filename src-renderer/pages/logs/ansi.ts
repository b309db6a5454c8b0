// ANSI escape codes in engine output: SGR colours and weights become styled segments, every other
// escape (cursor moves, OSC titles, 256/true-colour runs we don't paint) is stripped.

export interface AnsiStyle {
  /** 0-7 normal, 8-15 bright; null = default. */
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

export interface AnsiSegment {
  text: string;
  style: AnsiStyle | null;
}

const PLAIN: AnsiStyle = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
// CSI … final byte | OSC … BEL/ST | other two-byte escapes.
const ESCAPE = /\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;
// Control characters other than tab (a stray \r from a progress bar, backspace, bell).
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

export function hasAnsi(text: string): boolean {
  return text.includes('\x1b');
}

const plainTexts = new WeakMap<{ text: string }, string>();

/** A log line's text without its colour codes (kept per line: search and copy ask often). */
export function plainLine(line: { text: string }): string {
  let text = plainTexts.get(line);
  if (text === undefined) plainTexts.set(line, (text = stripAnsi(line.text)));
  return text;
}

export function stripAnsi(text: string): string {
  return text.replace(ESCAPE, '').replace(CONTROL, '');
}

export function parseAnsi(text: string): AnsiSegment[] {
  if (!hasAnsi(text)) return [{ text: text.replace(CONTROL, ''), style: null }];
  const segments: AnsiSegment[] = [];
  let style: AnsiStyle = PLAIN;
  let last = 0;
  const push = (chunk: string) => {
    const clean = chunk.replace(CONTROL, '');
    if (clean) segments.push({ text: clean, style: style === PLAIN ? null : style });
  };
  for (const match of text.matchAll(ESCAPE)) {
    push(text.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[2] === 'm' && match[0].startsWith('\x1b[')) style = applySgr(style, match[1] ?? '');
  }
  push(text.slice(last));
  return segments;
}

function applySgr(current: AnsiStyle, params: string): AnsiStyle {
  if (/[^0-9;]/.test(params)) return current; // private modes ("?25") aren't SGR
  const codes = params === '' ? [0] : params.split(';').map((p) => (p === '' ? 0 : Number(p)));
  let s = { ...current };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) s = { ...PLAIN };
    else if (code === 1) s.bold = true;
    else if (code === 2) s.dim = true;
    else if (code === 3) s.italic = true;
    else if (code === 4) s.underline = true;
    else if (code === 22) s.bold = s.dim = false;
    else if (code === 23) s.italic = false;
    else if (code === 24) s.underline = false;
    else if (code >= 30 && code <= 37) s.fg = code - 30;
    else if (code >= 90 && code <= 97) s.fg = code - 90 + 8;
    else if (code === 39) s.fg = null;
    else if (code >= 40 && code <= 47) s.bg = code - 40;
    else if (code >= 100 && code <= 107) s.bg = code - 100 + 8;
    else if (code === 49) s.bg = null;
    else if (code === 38 || code === 48) {
      // 5;n (palette) or 2;r;g;b: take the 16 basic colours, skip the rest.
      const mode = codes[i + 1];
      if (mode === 5) {
        const n = codes[i + 2];
        if (n !== undefined && n < 16) {
          if (code === 38) s.fg = n;
          else s.bg = n;
        }
        i += 2;
      } else if (mode === 2) {
        i += 4;
      }
    }
  }
  const plain = s.fg === null && s.bg === null && !s.bold && !s.dim && !s.italic && !s.underline;
  return plain ? PLAIN : s;
}

export function ansiClass(style: AnsiStyle): string {
  const classes: string[] = [];
  if (style.fg !== null) classes.push(`ansi-fg-${style.fg}`);
  if (style.bg !== null) classes.push(`ansi-bg-${style.bg}`);
  if (style.bold) classes.push('ansi-bold');
  if (style.dim) classes.push('ansi-dim');
  if (style.italic) classes.push('ansi-italic');
  if (style.underline) classes.push('ansi-underline');
  return classes.join(' ');
}
