import type http from 'node:http';

const HEARTBEAT_MS = 15_000;

/** Opens a Server-Sent Events response; returns a writer and runs `onClose` when the client leaves. */
export function openSse(req: http.IncomingMessage, res: http.ServerResponse, onClose: () => void) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    onClose();
  };
  req.once('close', close);
  res.once('close', close);
  return {
    send(event: string, data: unknown, id?: number): void {
      if (closed) return;
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end(): void {
      close();
      res.end();
    },
  };
}
