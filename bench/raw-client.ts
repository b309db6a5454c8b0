// A raw-socket HTTP/1.1 client for the streaming and cold-start figures: it timestamps every
// read() of the socket, so a proxy that merges two chunks the engine sent 20 ms apart shows up as
// one read holding two events. (An HTTP library would hide that.)
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Read {
  /** performance.now() of the read. */
  t: number;
  /** SSE events whose terminating blank line arrived in this read. */
  events: string[];
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** performance.now() when the request was written, and of the first response byte. */
  sentAt: number;
  firstByteAt: number;
  doneAt: number;
  reads: Read[];
  body: string;
}

export class RawClient {
  private socket: net.Socket | null = null;

  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
  ) {}

  async connect(): Promise<void> {
    if (this.socket && !this.socket.destroyed) return;
    this.socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port: this.port, host: this.host, noDelay: true });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  /** One POST on the kept-alive socket; resolves when the whole response has arrived. */
  async post(path: string, body: unknown, timeoutMs = 30_000): Promise<RawResponse> {
    await this.connect();
    const socket = this.socket!;
    const payload = Buffer.from(JSON.stringify(body));
    const head = `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: keep-alive\r\n\r\n`;
    return new Promise<RawResponse>((resolve, reject) => {
      const parser = new ResponseParser();
      let firstByteAt = 0;
      const timer = setTimeout(() => fail(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        const t = performance.now();
        if (firstByteAt === 0) firstByteAt = t;
        try {
          parser.feed(chunk, t);
        } catch (err) {
          return fail(err as Error);
        }
        if (parser.done) {
          cleanup();
          resolve({ status: parser.status, headers: parser.headers, sentAt, firstByteAt, doneAt: t, reads: parser.reads, body: parser.body });
        }
      };
      const onEnd = () => fail(new Error('connection closed before the response was complete'));
      const fail = (err: Error) => {
        cleanup();
        this.close();
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', fail);
        socket.off('close', onEnd);
      };
      socket.on('data', onData);
      socket.once('error', fail);
      socket.once('close', onEnd);
      const sentAt = performance.now();
      socket.write(Buffer.concat([Buffer.from(head), payload]));
    });
  }
}

/** Incremental HTTP/1.1 response parser: content-length or chunked bodies, SSE events per read. */
class ResponseParser {
  status = 0;
  headers: Record<string, string> = {};
  reads: Read[] = [];
  body = '';
  done = false;
  private raw: Buffer = Buffer.alloc(0);
  private headDone = false;
  private chunked = false;
  private remaining = 0; // content-length bytes still due
  private sse = '';

  feed(chunk: Buffer, t: number): void {
    this.raw = this.raw.length === 0 ? chunk : Buffer.concat([this.raw, chunk]);
    let text = '';
    if (!this.headDone) {
      const end = this.raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = this.raw.subarray(0, end).toString('latin1').split('\r\n');
      this.status = Number(lines[0]!.split(' ')[1]);
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) this.headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      this.headDone = true;
      this.raw = this.raw.subarray(end + 4);
      this.chunked = (this.headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked');
      this.remaining = Number(this.headers['content-length'] ?? 0);
    }
    if (this.chunked) {
      for (;;) {
        const lineEnd = this.raw.indexOf('\r\n');
        if (lineEnd === -1) break;
        const size = parseInt(this.raw.subarray(0, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size line');
        if (size === 0) {
          if (this.raw.length < lineEnd + 4) break;
          this.raw = Buffer.alloc(0);
          this.done = true;
          break;
        }
        if (this.raw.length < lineEnd + 2 + size + 2) break;
        text += this.raw.subarray(lineEnd + 2, lineEnd + 2 + size).toString('utf8');
        this.raw = this.raw.subarray(lineEnd + 2 + size + 2);
      }
    } else {
      const take = Math.min(this.remaining, this.raw.length);
      text = this.raw.subarray(0, take).toString('utf8');
      this.raw = this.raw.subarray(take);
      this.remaining -= take;
      this.done = this.remaining === 0;
    }
    this.body += text;
    this.sse += text;
    const events: string[] = [];
    for (let i = this.sse.indexOf('\n\n'); i !== -1; i = this.sse.indexOf('\n\n')) {
      events.push(this.sse.slice(0, i));
      this.sse = this.sse.slice(i + 2);
    }
    this.reads.push({ t, events });
  }
}
