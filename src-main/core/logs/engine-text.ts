// An engine's output bytes → lines of text. Most engines print UTF-8; Windows programs that print
// in the console's code page (GBK on Chinese systems: paths, Python tracebacks, cmd.exe's own
// messages) do not. Each whole line is decoded on its own: as UTF-8 when it is valid UTF-8, else
// with the fallback encoding. Splitting at the newline byte first is safe for every code page we
// decode: none uses 0x0A inside a multi-byte character, so a character cut by a chunk boundary
// is always joined again before it is decoded.
import { execFile } from 'node:child_process';
import { TextDecoder } from 'node:util';
import { codePageEncoding, encodingName } from '../../../src-shared/encodings.js';

const NEWLINE = 0x0a;
const CR = 0x0d;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const decoders = new Map<string, TextDecoder>();

/** Decodes one line: UTF-8 when the bytes are valid UTF-8, else `fallback` (UTF-8 with U+FFFD when there is none). */
export function decodeLine(bytes: Uint8Array, fallback: string | null): string {
  try {
    return utf8.decode(bytes);
  } catch {
    let decoder = decoders.get(fallback ?? 'utf-8');
    if (!decoder) {
      decoder = new TextDecoder(fallback ?? 'utf-8');
      decoders.set(fallback ?? 'utf-8', decoder);
    }
    return decoder.decode(bytes);
  }
}

/** Splits a byte stream into lines (LF or CRLF), keeping a partial last line until its newline comes. */
export class LineSplitter {
  private pending: Buffer | null = null;

  constructor(
    private readonly fallback: () => string | null,
    /** A longer run without a newline is cut into lines of this many bytes (a progress bar must not grow forever). */
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Buffer): string[] {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const lines: string[] = [];
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
      lines.push(this.decode(data.subarray(start, nl > start && data[nl - 1] === CR ? nl - 1 : nl)));
      start = nl + 1;
    }
    data = data.subarray(start);
    while (data.length > this.maxLineBytes) {
      const cut = utf8Boundary(data, this.maxLineBytes);
      lines.push(this.decode(data.subarray(0, cut)));
      data = data.subarray(cut);
    }
    // A copy: the chunk's memory is the pipe's, and a partial line may wait a while.
    if (data.length > 0) this.pending = Buffer.from(data);
    return lines;
  }

  /** The unterminated last line, if any (the process exited). */
  end(): string | null {
    const rest = this.pending;
    this.pending = null;
    return rest && rest.length > 0 ? this.decode(rest) : null;
  }

  private decode(bytes: Uint8Array): string {
    return decodeLine(bytes, this.fallback());
  }
}

/** Where to cut a runaway line near `at` without splitting a UTF-8 character (other encodings: at `at`). */
function utf8Boundary(data: Buffer, at: number): number {
  for (let i = at; i > at - 4 && i > 0; i--) if ((data[i]! & 0xc0) !== 0x80) return i;
  return at;
}

/** The code page number in `chcp`'s answer, whatever its language ("Active code page: 936", "活动代码页: 936"). */
export function parseChcp(output: string): number | null {
  const match = /(\d+)\s*\.?\s*$/.exec(output.trim());
  return match ? Number(match[1]) : null;
}

export interface EncodingSource {
  /** program.engine_encoding: "auto" (or absent), or an encoding name / code page. */
  setting: () => string | undefined;
  platform: NodeJS.Platform;
  /** Runs `chcp` and resolves with its output (Windows only); default: `cmd.exe /d /c chcp`. */
  chcp?: () => Promise<string>;
}

/**
 * The encoding an engine's non-UTF-8 output is decoded with: program.engine_encoding when set;
 * else, on Windows, the console code page `chcp` reports (asked once, in the background: until it
 * answers, such bytes read as UTF-8 with U+FFFD); elsewhere none (engines print UTF-8).
 */
export function engineFallbackEncoding(source: EncodingSource): () => string | null {
  let detected: string | null = null;
  // Asked once, up front, so the answer is there when the first engine prints.
  if (source.platform === 'win32') {
    (source.chcp ?? runChcp)().then(
      (output) => {
        const page = parseChcp(output);
        const name = page === null ? null : codePageEncoding(page);
        detected = name === 'utf-8' ? null : name;
      },
      () => undefined,
    );
  }
  return () => {
    const setting = source.setting()?.trim();
    if (setting && setting.toLowerCase() !== 'auto') return encodingName(setting);
    return detected;
  };
}

function runChcp(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('cmd.exe', ['/d', '/c', 'chcp'], { windowsHide: true, timeout: 5000, encoding: 'latin1' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}
