// Requests with full control of the headers (fetch() will not send a forged Host, and adds its own
// Origin / Sec-Fetch-* rules): what a browser, a rebinding page or a slow client would send.
import http from 'node:http';
import net from 'node:net';
import fileUrl from 'node:url';
import path from 'node:path';
import type { Json } from './http.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Json;
}

export function rawRequest(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: options.method ?? 'GET',
        path: options.path ?? `${target.pathname}${target.search}`,
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Opens a socket, writes `text`, then waits: resolves with what the server sent and how long it
 * took the server to close the connection (or null if it still was open after `waitMs`).
 */
export function slowClient(port: number, text: string, waitMs: number): Promise<{ received: string; closedAfterMs: number | null }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closedAfterMs: closed ? Date.now() - started : null });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (c: Buffer) => (received += c.toString('utf8')));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (done ? undefined : received !== '' ? finish(true) : reject(err)));
  });
}

export const ECHO_ENGINE = path.join(path.dirname(fileUrl.fileURLToPath(import.meta.url)), '..', 'fixtures', 'echo-engine.mjs');

/** A launch script for the fixture's `script` option that runs the echo engine with `args`. */
export function echoScript(args: string[] = []): { file: string; text: string } {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  return { file: 'echo.sh', text: `exec "$NODE" '${ECHO_ENGINE}' ${quoted}\n` };
}
