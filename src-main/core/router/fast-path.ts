// The hot path without node:http: a /v1 request to a model that is ready is read off the socket
// and its answer relayed from a kept-alive engine socket, byte for byte. Node's HTTP server costs
// about 0.3 ms per request on a machine that has been idle (measured: the same relay behind
// http.createServer adds 0.55 ms to the first streamed byte, this one 0.26 ms, a bare byte pipe
// 0.23 ms). It takes only the plainest requests: a complete HTTP/1.1 POST to a known endpoint with
// a Content-Length body of JSON, no Origin, admitted by the guard, for a model that is ready.
// Anything else — a browser's request, a chunked or large upload, bad input, a model to start, a
// slow client — is given to node:http with the bytes read so far, and that connection stays there;
// its answers (errors included) come from one place.
import net from 'node:net';
import type { Server } from 'node:http';
import { http } from '../node-http.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ModelSupervisor } from '../models/supervisor.js';
import type { RequestGuard } from '../security/guard.js';
import { ENDPOINT_MODES, engineClosedError, engineDiedEvent, isJsonType, modelOf, NOT_FORWARDED, passesToClient } from './openai.js';

/** Larger requests (a long prompt, embeddings of a big batch) go to node:http. */
const MAX_HEAD = 16 * 1024;
const MAX_BODY = 64 * 1024;
const KEEP_ALIVE_MS = 65_000;
/** An idle kept-alive engine socket is closed before engines close theirs (llama-server, uvicorn: 5 s). */
const ENGINE_IDLE_MS = 2_000;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

export interface FastPathOptions {
  registry: ModelRegistry;
  guard?: RequestGuard;
  bodyLimitBytes: () => number;
  /** How long an unfinished request may take before node:http (and its timeouts) takes it over. */
  headerTimeoutMs: () => number;
}

export interface FastPathStats {
  /** Requests answered by the fast path. */
  served: number;
  /** Connections handed to node:http. */
  handedOff: number;
}

const installed = new WeakMap<Server, FastPath>();

/** What the fast path did on `server` (for tests). */
export function fastPathStats(server: Server): FastPathStats | null {
  return installed.get(server)?.stats ?? null;
}

/**
 * Puts the fast path in front of `server`: every accepted connection is read here first and
 * handed to node:http's own connection handler when a request isn't for the fast path.
 */
export function installFastPath(server: Server, options: FastPathOptions): FastPath {
  const [nodeHandler] = server.listeners('connection') as ((socket: net.Socket) => void)[];
  if (!nodeHandler) throw new Error('node:http has no connection handler to hand off to');
  server.removeListener('connection', nodeHandler);
  const fast = new FastPath(options, (socket) => nodeHandler.call(server, socket));
  server.on('connection', (socket: net.Socket) => fast.accept(socket));
  // node:http closes the connections it knows; these are ours.
  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    closeIdle();
    fast.closeIdle();
  };
  server.closeAllConnections = () => {
    closeAll();
    fast.closeAll();
  };
  installed.set(server, fast);
  return fast;
}

export class FastPath {
  readonly stats: FastPathStats = { served: 0, handedOff: 0 };
  private readonly connections = new Set<ClientConnection>();
  readonly engines = new EngineSockets();

  constructor(
    readonly options: FastPathOptions,
    readonly handOff: (socket: net.Socket) => void,
  ) {}

  accept(socket: net.Socket): void {
    const connection = new ClientConnection(socket, this);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  forget(connection: ClientConnection): void {
    this.connections.delete(connection);
  }

  closeIdle(): void {
    for (const c of this.connections) if (c.idle) c.socket.destroy();
    this.engines.close();
  }

  closeAll(): void {
    for (const c of this.connections) c.socket.destroy();
    this.engines.close();
  }
}

interface ParsedRequest {
  path: string;
  headers: Record<string, string>;
  /** Headers to pass on to the engine, as [name, value] pairs. */
  forward: string[];
  body: Buffer;
  /** Bytes of this request in the buffer. */
  length: number;
  close: boolean;
}

/** One client connection while the fast path owns it. */
class ClientConnection {
  private buffer: Buffer | null = null;
  private busy = false;
  private handed = false;
  private timer: NodeJS.Timeout | null = null;
  /** The timer runs for an unfinished request (not the keep-alive wait): more bytes don't restart it. */
  private waitingForRest = false;
  /** The client half-closed: answer what it sent, then close our side too (as node:http does). */
  private ended = false;

  constructor(
    readonly socket: net.Socket,
    private readonly fast: FastPath,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('end', this.onEnd);
    this.armTimer(KEEP_ALIVE_MS);
  }

  get idle(): boolean {
    return !this.busy && this.buffer === null;
  }

  private readonly onError = () => this.socket.destroy();

  private readonly onEnd = () => {
    this.ended = true;
    if (!this.busy) this.socket.end();
  };

  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    // A pipelined request waits for the answer before it; a client that floods meanwhile is paused.
    if (this.busy) {
      if (this.buffer.length > MAX_HEAD + MAX_BODY) this.socket.pause();
      return;
    }
    this.next();
  };

  /** Looks at what the buffer holds: serve it, wait for the rest, or give the connection away. */
  private next(): void {
    if (this.handed || this.busy || this.socket.destroyed) return;
    if (this.buffer === null) return this.armTimer(KEEP_ALIVE_MS);
    const request = parseRequest(this.buffer);
    if (request === 'partial') {
      if (!this.waitingForRest) this.armTimer(this.fast.options.headerTimeoutMs());
      this.waitingForRest = true;
      return;
    }
    if (request === null) return this.giveAway();
    const supervisor = this.admit(request);
    if (!supervisor) return this.giveAway();
    this.clearTimer();
    this.buffer = request.length === this.buffer.length ? null : this.buffer.subarray(request.length);
    this.busy = true;
    this.fast.stats.served++;
    new Exchange(this, this.fast.engines, supervisor, request, () => {
      this.busy = false;
      if (request.close || this.ended) return void this.socket.end();
      this.socket.resume();
      this.next();
    });
  }

  /** The model the request goes to, when everything about it is plain and it is ready now. */
  private admit(request: ParsedRequest): ModelSupervisor | null {
    const { options } = this.fast;
    if (request.body.length > options.bodyLimitBytes()) return null;
    const type = request.headers['content-type'];
    if (type !== undefined && !isJsonType(type)) return null;
    if (options.guard && !options.guard.quickAdmit(request.headers, this.socket.remoteAddress)) return null;
    let model: string;
    try {
      model = modelOf(request.body);
    } catch {
      return null; // node:http answers the 400
    }
    const supervisor = options.registry.resolve(model);
    if (!supervisor || supervisor.currentState !== 'ready' || !ENDPOINT_MODES[request.path]!.includes(supervisor.model.mode)) return null;
    return supervisor;
  }

  /** node:http takes the connection from here on, starting with the bytes read so far. */
  private giveAway(): void {
    this.handed = true;
    this.clearTimer();
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onError);
    this.socket.off('end', this.onEnd);
    this.socket.pause();
    if (this.buffer) this.socket.unshift(this.buffer);
    this.buffer = null;
    this.fast.forget(this);
    this.fast.stats.handedOff++;
    this.fast.handOff(this.socket);
    this.socket.resume();
  }

  /** While waiting: an unfinished request is handed on when late, an idle connection closed. */
  private armTimer(ms: number): void {
    this.clearTimer();
    if (ms <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.busy || this.handed) return;
      if (this.buffer === null) this.socket.destroy();
      else this.giveAway();
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waitingForRest = false;
  }
}

/**
 * A complete request the fast path may take, 'partial' when more bytes may make one, or null when
 * it is not for the fast path (or not well-formed: node:http will say so).
 */
function parseRequest(buf: Buffer): ParsedRequest | 'partial' | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return buf.length > MAX_HEAD ? null : 'partial';
  if (end > MAX_HEAD) return null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const first = lines[0]!;
  if (!first.startsWith('POST ') || !first.endsWith(' HTTP/1.1')) return null;
  const path = first.slice(5, -9);
  if (ENDPOINT_MODES[path] === undefined) return null;
  const headers: Record<string, string> = {};
  const forward: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const raw = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(raw) || BAD_VALUE.test(value)) return null;
    const name = raw.toLowerCase();
    // Repeated headers, uploads framed otherwise, Expect, Upgrade, browsers: node:http's business.
    if (name in headers || name === 'transfer-encoding' || name === 'expect' || name === 'upgrade' || name.startsWith('sec-')) return null;
    headers[name] = value;
    if (!NOT_FORWARDED.has(name)) forward.push(raw, value);
  }
  const declared = headers['content-length'];
  if (declared === undefined || !/^\d{1,6}$/.test(declared) || headers['host'] === undefined) return null;
  const size = Number(declared);
  if (size > MAX_BODY) return null;
  const length = end + 4 + size;
  if (buf.length < length) return 'partial';
  const connection = headers['connection']?.toLowerCase();
  return { path, headers, forward, body: buf.subarray(end + 4, length), length, close: connection !== undefined && /(^|,)\s*close\s*(,|$)/.test(connection) };
}

/** Kept-alive sockets to the engines, per port. */
class EngineSockets {
  private readonly idle = new Map<number, Set<net.Socket>>();

  /** A kept-alive socket if there is one (and whether it is), else a new connection. */
  take(port: number): { socket: net.Socket; reused: boolean } {
    const set = this.idle.get(port);
    for (const s of set ?? []) {
      set!.delete(s);
      if (s.destroyed) continue;
      s.setTimeout(0);
      s.off('data', destroyOnData);
      return { socket: s, reused: true };
    }
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    // An engine that resets a socket while it sits idle must not take the node down.
    socket.on('error', () => undefined);
    socket.on('timeout', () => socket.destroy());
    socket.once('close', () => this.idle.get(port)?.delete(socket));
    return { socket, reused: false };
  }

  give(port: number, socket: net.Socket): void {
    let set = this.idle.get(port);
    if (!set) this.idle.set(port, (set = new Set()));
    set.add(socket);
    socket.setTimeout(ENGINE_IDLE_MS);
    // Bytes nobody asked for would be read as the next answer: such a socket is not reused.
    socket.on('data', destroyOnData);
  }

  close(): void {
    for (const set of this.idle.values()) {
      for (const s of set) s.destroy();
      set.clear();
    }
  }
}

function destroyOnData(this: net.Socket): void {
  this.destroy();
}

type BodyFraming = 'chunked' | 'length' | 'close' | 'none';

/** One request relayed to the engine and its answer back, byte for byte where the framing allows. */
class Exchange {
  private engine!: net.Socket;
  private reused = false;
  private head: Buffer | null = null;
  private answered = false;
  private streaming = false;
  private framing: BodyFraming = 'none';
  private left = 0;
  private chunk = new ChunkTracker();
  private gotBytes = false;
  private finished = false;
  private engineKeepsSocket = true;
  /** Our response head, sent with the first body bytes (one write, not two). */
  private pending: Buffer | null = null;
  private readonly release: () => void;

  constructor(
    private readonly client: ClientConnection,
    private readonly engines: EngineSockets,
    private readonly supervisor: ModelSupervisor,
    private readonly request: ParsedRequest,
    private readonly onDone: () => void,
  ) {
    this.release = supervisor.acquire();
    client.socket.once('close', this.onClientClose);
    this.send();
  }

  private send(): void {
    const { port } = this.supervisor;
    const taken = this.engines.take(port);
    this.engine = taken.socket;
    this.reused = taken.reused;
    this.gotBytes = false;
    let head = `POST ${this.request.path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${this.request.body.length}\r\n`;
    const f = this.request.forward;
    for (let i = 0; i < f.length; i += 2) head += `${f[i]}: ${f[i + 1]}\r\n`;
    const key = this.supervisor.engineKey;
    if (key) head += `authorization: Bearer ${key}\r\n`;
    this.engine.on('data', this.onEngineData);
    this.engine.on('error', this.onEngineError);
    this.engine.on('close', this.onEngineClose);
    this.engine.write(Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), this.request.body]));
  }

  private readonly onEngineData = (data: Buffer) => {
    this.gotBytes = true;
    if (!this.answered) {
      this.head = this.head ? Buffer.concat([this.head, data]) : data;
      const end = this.head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.head.length > MAX_HEAD) this.fail(new Error('the engine sent an oversized response head'));
        return;
      }
      const rest = this.head.subarray(end + 4);
      const status = this.answerHead(this.head.toString('latin1', 0, end));
      this.head = null;
      if (status === 'informational') {
        if (rest.length > 0) this.onEngineData(rest);
        return;
      }
      if (status === 'bad') return this.fail(new Error('the engine sent a malformed response'));
      if (this.framing === 'none') return this.finish(true);
      return this.body(rest);
    }
    this.body(data);
  };

  /** Writes our response head for the engine's; decides how the body is framed. */
  private answerHead(text: string): 'informational' | 'bad' | 'ok' {
    const lines = text.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!match) return 'bad';
    const status = Number(match[1]);
    if (status < 200) return 'informational';
    let out = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let chunked = false;
    let length: string | undefined;
    let engineCloses = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) return 'bad';
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      // What node:http would refuse to send (a stray CR or LF would split our answer): a 502 instead.
      if (BAD_VALUE.test(value)) return 'bad';
      if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked\s*$/i.test(value);
      else if (name === 'content-length') length = value;
      else if (name === 'connection') engineCloses = /(^|,)\s*close\s*(,|$)/i.test(value);
      if (!passesToClient(name)) continue;
      if (name === 'content-type' && value.includes('text/event-stream')) this.streaming = true;
      out += `${line.slice(0, colon).trim()}: ${value}\r\n`;
    }
    this.answered = true;
    if (status === 204 || status === 304) this.framing = 'none';
    else if (chunked) this.framing = 'chunked';
    else if (length !== undefined && /^\d+$/.test(length)) {
      this.framing = Number(length) === 0 ? 'none' : 'length';
      this.left = Number(length);
    } else this.framing = 'close';
    if (this.framing === 'chunked' || this.framing === 'close') out += 'transfer-encoding: chunked\r\n';
    else if (this.framing === 'length') out += `content-length: ${this.left}\r\n`;
    else if (status !== 204 && status !== 304) out += 'content-length: 0\r\n';
    // As node:http says it: how long the connection stays open for the next request.
    out += this.request.close ? 'connection: close\r\n' : `connection: keep-alive\r\nkeep-alive: timeout=${KEEP_ALIVE_MS / 1000}\r\n`;
    this.engineKeepsSocket = !engineCloses && this.framing !== 'close';
    this.pending = Buffer.from(`${out}\r\n`, 'latin1');
    return 'ok';
  }

  private body(data: Buffer): void {
    let piece = data;
    let done = false;
    if (this.framing === 'length') {
      if (piece.length >= this.left) {
        piece = piece.subarray(0, this.left);
        done = true;
      }
      this.left -= piece.length;
    } else if (this.framing === 'chunked') {
      let end: number;
      try {
        end = this.chunk.feed(piece);
      } catch (err) {
        return this.fail(err as Error);
      }
      if (end !== -1) {
        piece = piece.subarray(0, end);
        done = true;
      }
    } else if (this.framing === 'close' && piece.length > 0) {
      piece = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`, 'latin1'), piece, Buffer.from('\r\n', 'latin1')]);
    }
    this.write(piece);
    if (done) this.finish(true);
  }

  private write(piece: Buffer): void {
    const out = this.pending ? (piece.length > 0 ? Buffer.concat([this.pending, piece]) : this.pending) : piece;
    this.pending = null;
    if (out.length === 0) return;
    // Each piece goes out as it arrives (no batching); a slow client pauses the engine.
    if (!this.client.socket.write(out)) {
      this.engine.pause();
      this.client.socket.once('drain', () => this.engine.resume());
    }
  }

  private readonly onEngineError = (err: NodeJS.ErrnoException) => this.fail(err);

  private readonly onEngineClose = () => {
    if (this.finished) return;
    if (this.answered && this.framing === 'close') {
      this.write(Buffer.from('0\r\n\r\n', 'latin1'));
      return this.finish(false);
    }
    this.fail(Object.assign(new Error('the engine closed the connection'), { code: 'ECONNRESET' }));
  };

  private readonly onClientClose = () => {
    if (this.finished) return;
    // The client left mid-answer: the engine stops working on it when its socket closes.
    this.detach();
    this.finished = true;
    this.engine.destroy();
    this.release();
  };

  private fail(err: NodeJS.ErrnoException): void {
    if (this.finished) return;
    this.detach();
    this.engine.destroy();
    // A kept-alive socket the engine had closed meanwhile: nothing was sent back, try a fresh one.
    if (this.reused && !this.gotBytes && !this.answered) {
      this.client.socket.once('close', this.onClientClose);
      return this.send();
    }
    this.finished = true;
    if (err.code === 'ECONNREFUSED') this.supervisor.reportUnreachable();
    const socket = this.client.socket;
    if (!this.answered) {
      const body = JSON.stringify(engineClosedError(this.supervisor).toBody());
      socket.write(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${this.request.close ? 'connection: close\r\n' : ''}\r\n${body}`);
      this.release();
      this.onDone();
      return;
    }
    // Mid-answer: a stream's client is told in-band; a plain answer is cut off.
    if (this.streaming && this.framing !== 'length') {
      const event = engineDiedEvent(this.supervisor);
      const chunk = this.chunk.inChunk ? '' : `${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`;
      // Inside an unfinished chunk the framing can't be mended: the connection is cut instead.
      if (chunk) socket.end(`${chunk}0\r\n\r\n`);
      else socket.destroy();
    } else {
      socket.destroy();
    }
    this.release();
  }

  private finish(keepEngine: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.detach();
    if (this.pending) this.write(Buffer.alloc(0));
    if (keepEngine && this.engineKeepsSocket) this.engines.give(this.supervisor.port, this.engine);
    else this.engine.destroy();
    this.release();
    this.onDone();
  }

  private detach(): void {
    this.engine.off('data', this.onEngineData);
    this.engine.off('error', this.onEngineError);
    this.engine.off('close', this.onEngineClose);
    this.client.socket.off('close', this.onClientClose);
  }
}

/**
 * Follows chunked framing as the bytes pass (they are forwarded unchanged): where the last chunk
 * and its trailers end.
 */
class ChunkTracker {
  private state: 'size' | 'ext' | 'size-lf' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'trailer-lf' | 'end-lf' = 'size';
  private size = 0;
  private left = 0;
  private sawDigit = false;
  private trailerEmpty = true;

  /** True between a chunk's size line and the end of its data. */
  get inChunk(): boolean {
    return this.state !== 'size' || this.sawDigit;
  }

  /** Index just past the end of the message in `data`, or -1 when it hasn't ended. Throws on bad framing. */
  feed(data: Buffer): number {
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      switch (this.state) {
        case 'size': {
          const digit = hexValue(c);
          if (digit >= 0) {
            this.size = this.size * 16 + digit;
            this.sawDigit = true;
            if (this.size > Number.MAX_SAFE_INTEGER / 16) throw new Error('chunk too large');
          } else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
            this.state = 'ext';
          } else if (c === 0x0d) {
            this.state = 'size-lf';
          } else {
            throw new Error('bad chunk size');
          }
          break;
        }
        case 'ext':
          if (c === 0x0d) this.state = 'size-lf';
          break;
        case 'size-lf':
          if (c !== 0x0a || !this.sawDigit) throw new Error('bad chunk size line');
          this.sawDigit = false;
          if (this.size === 0) {
            this.state = 'trailer';
            this.trailerEmpty = true;
          } else {
            this.left = this.size;
            this.state = 'data';
          }
          this.size = 0;
          break;
        case 'data': {
          const take = Math.min(this.left, data.length - i);
          this.left -= take;
          i += take - 1;
          if (this.left === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (c !== 0x0d) throw new Error('chunk longer than its size');
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (c !== 0x0a) throw new Error('chunk longer than its size');
          this.state = 'size';
          break;
        case 'trailer':
          if (c === 0x0d) this.state = this.trailerEmpty ? 'end-lf' : 'trailer-lf';
          else this.trailerEmpty = false;
          break;
        case 'trailer-lf':
          if (c !== 0x0a) throw new Error('bad trailer');
          this.state = 'trailer';
          this.trailerEmpty = true;
          break;
        case 'end-lf':
          if (c !== 0x0a) throw new Error('bad end of chunked body');
          this.state = 'size';
          return i + 1;
      }
    }
    return -1;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
