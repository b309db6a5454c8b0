// HTTP/1.1 on raw sockets, for the router's fast path and the differential tests: requests written
// byte for byte as a test needs them, and the answers read back from the bytes.
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './http.js';

/** An engine that answers in odd shapes on a raw socket (test/fixtures/odd-engine.mjs). */
export const ODD_ENGINE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'odd-engine.mjs');

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  trailers: Record<string, string>;
}

/**
 * Splits raw HTTP/1.1 responses (1xx skipped), decoding Content-Length and chunked bodies. An
 * unfinished answer throws, or with `complete` only the answers before it are returned.
 */
export function parseAnswers(raw: Buffer, { complete = false } = {}): Answer[] {
  try {
    return splitAnswers(raw);
  } catch (err) {
    if (err instanceof Unfinished && complete) return err.answers;
    throw err;
  }
}

class Unfinished extends Error {
  constructor(message: string, readonly answers: Answer[]) {
    super(message);
  }
}

function splitAnswers(raw: Buffer): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  const text = raw.toString('latin1');
  const headerMap = (block: string) => Object.fromEntries(block.split('\r\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) throw new Unfinished(`unfinished head: ${JSON.stringify(text.slice(at, at + 200))}`, out);
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n');
    const status = Number(statusLine!.split(' ')[1]);
    const headers = headerMap(lines.join('\r\n'));
    at = end + 4;
    if (status < 200) continue;
    let body = '';
    let trailers: Record<string, string> = {};
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const nl = text.indexOf('\r\n', at);
        if (nl === -1) throw new Unfinished('unfinished chunk size', out);
        const size = parseInt(text.slice(at, nl).split(';')[0]!, 16);
        at = nl + 2;
        if (size === 0) {
          const tEnd = text.indexOf('\r\n\r\n', at - 2);
          if (tEnd === -1) throw new Unfinished('unfinished trailers', out);
          trailers = headerMap(text.slice(at, tEnd));
          at = tEnd + 4;
          break;
        }
        if (at + size + 2 > text.length) throw new Unfinished('unfinished chunk', out);
        body += text.slice(at, at + size);
        at += size + 2;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (at + length > text.length) throw new Unfinished('unfinished body', out);
      body = text.slice(at, at + length);
      at += length;
    }
    out.push({ status, headers, body: Buffer.from(body, 'latin1').toString('utf8'), trailers });
  }
  return out;
}

/** One raw connection, kept open: what it has read, and whether the server closed it. */
export async function rawConnection(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const bytes = () => Buffer.concat(chunks);
  /** The complete answers read so far, or null while one is unfinished. */
  const answers = (): Answer[] | null => {
    try {
      return parseAnswers(bytes());
    } catch {
      return null;
    }
  };
  return {
    socket,
    bytes,
    answers,
    get closed() {
      return closed;
    },
    /** Writes `text` and waits until `count` answers have come on this connection; all of them. */
    async ask(text: string, count: number): Promise<Answer[]> {
      socket.write(text);
      await waitFor(() => (answers()?.length ?? 0) >= count, 10_000, `answer ${count}`, 5);
      return answers()!;
    },
  };
}

/** Writes `pieces` on one socket (a pause between them) and reads until the server closes it or `count` answers are complete. */
export async function converse(port: number, pieces: (string | Buffer)[], count: number, gapMs = 0): Promise<Answer[]> {
  const connection = await rawConnection(port);
  for (const piece of pieces) {
    connection.socket.write(piece);
    if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await waitFor(() => connection.closed || (connection.answers()?.length ?? 0) >= count, 10_000, `${count} answers`, 10);
  connection.socket.destroy();
  return parseAnswers(connection.bytes());
}

export const request = (body: unknown, headers: Record<string, string> = {}, target = '/v1/chat/completions') => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const lines = [`POST ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(text)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n${text}`;
};
