// The hot path without node:http: a /v1 request to a model that is ready is read off the socket
// and its answer relayed from a kept-alive engine socket, byte for byte. Node's HTTP server costs
// about 0.3 ms per request on a machine that has been idle (measured: the same relay behind
// http.createServer adds 0.55 ms to the first streamed byte, this one 0.26 ms, a bare byte pipe
// 0.23 ms). It takes only the plainest requests: a complete HTTP/1.1 POST to a known endpoint with
// a Content-Length body of JSON, no Origin, admitted by the guard, for a model that is ready — or
// that is starting or can be started, which such a request waits for here (held, then sent on a
// fresh engine socket: a swap's or cold start's first answer doesn't go through a new undici pool).
// Anything else — a browser's request, a chunked or large upload, bad input, a start with loading
// progress, a hold, a slow client — is given to node:http with the bytes read so far, and that
// connection stays there; its answers (errors included) come from one place. The one error of our
// own besides an engine's 502: a start a request waited for failed (the 503 node:http would send).
import net from 'node:net';
import type { Server } from 'node:http';
import { http } from '../node-http.js';
import { quickModelOf, quickStreamInfo, withModel } from './json-model.js';
import { ENGINE_IDLE_MS } from './upstream.js';
import type { EngineSlots, EngineSlotTable } from './engine-slots.js';
import { noteArrival } from './arrivals.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ModelSupervisor } from '../models/supervisor.js';
import { keyNameOfHeaders, type RequestGuard } from '../security/guard.js';
import { LOADING_HEADER } from './loading-stream.js';
import type { UsageRecord, UsageSink } from '../usage/record.js';
import { AnswerTail, answerText, knowsIncludeUsage, noteStreamTimings, UsageEventFilter, usageRecord, userAgentProduct, withIncludeUsage } from '../usage/capture.js';
import { asApiError, CORS_HEADER_PREFIX, ENDPOINT_MODES, engineClosedError, engineDiedEvent, HOP_BY_HOP, isJsonType, modelOf, NOT_FORWARDED } from './openai.js';

/** Larger requests (a long prompt, embeddings of a big batch) go to node:http. */
const MAX_HEAD = 16 * 1024;
const MAX_BODY = 64 * 1024;
/** More header lines than any SDK sends: node:http decides (its limit differs between Node versions). */
const MAX_HEADER_LINES = 100;
/** How long a kept-alive client connection may sit idle between requests (node:http's keepAliveTimeout here). */
export const KEEP_ALIVE_MS = 65_000;

export interface FastPathOptions {
  registry: ModelRegistry;
  guard?: RequestGuard;
  bodyLimitBytes: () => number;
  /** How long an unfinished request may take before node:http (and its timeouts) takes it over. */
  headerTimeoutMs: () => number;
  /** Each engine's connection budget, shared with node:http's path (engine-slots.ts). */
  slots: EngineSlotTable;
  /** Where each answered request's usage record goes (core/usage); absent: nothing is read. */
  usage?: UsageSink;
  /** True while models are held off: a request for one not ready goes to node:http (its 503). */
  held?: () => boolean;
  /** Requests that may wait for one model's start (program.max_queued_requests). */
  queueLimit?: () => number;
  /** Called when a request waits here for a start: gets node:http's engine pools ready (undici loads lazily). */
  preloadFullPath?: () => void;
}

/** What an exchange keeps for its usage record. */
interface Capture {
  startedAt: number;
  t0: number;
  ttft: number | null;
  requested: string;
  status: number;
  tail: AnswerTail;
  /** Set when the router asked the engine for usage the client didn't: the event it drops. */
  filter: UsageEventFilter | null;
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

/** Kept-alive engine connections the fast path holds idle on `server` (for tests). */
export function idleEngineConnections(server: Server): number {
  return installed.get(server)?.engines.idleCount() ?? 0;
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
  readonly engines: EngineSockets;

  constructor(
    readonly options: FastPathOptions,
    readonly handOff: (socket: net.Socket) => void,
  ) {
    this.engines = new EngineSockets(options.slots);
  }

  accept(socket: net.Socket): void {
    const connection = new ClientConnection(socket, this);
    this.connections.add(connection);
    socket.once('close', () => {
      this.connections.delete(connection);
      connection.exchange?.onClientClose();
      connection.stopWaiting();
    });
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
  /** The endpoint (a key of ENDPOINT_MODES). */
  path: string;
  /** The request target as sent to the engine: the path, and a query when there is one (?beta=true). */
  target: string;
  /** The values the fast path reads (host, connection, origin, keys, user agent); shared by the requests of a repeated head: never changed. */
  headers: Record<string, string>;
  /** The Content-Type when there is one other than a plain application/json (which needs no check). */
  otherType: string | undefined;
  /** The buffer the request was read from; `forward` indexes it. */
  raw: Buffer;
  /** The header lines to pass on to the engine, as [start, end) byte ranges of `raw`, CRLF included. */
  forward: number[];
  body: Buffer;
  /** Bytes of this request in the buffer. */
  length: number;
  close: boolean;
  /** Bytes of its head, and where its Content-Length digits are in it. */
  headLength: number;
  lengthAt: number;
  lengthEnd: number;
}

/** One client connection while the fast path owns it. */
class ClientConnection {
  /** The request being answered (its 'close' news comes from the one listener FastPath.accept set). */
  exchange: Exchange | null = null;
  private buffer: Buffer | null = null;
  private busy = false;
  private handed = false;
  private timer: NodeJS.Timeout | null = null;
  /**
   * What the timer waits for: the whole head of a request (from the connection's start, or from the
   * first byte after a keep-alive wait; more bytes don't restart it, so a trickled head is refused
   * on time), or the next request of a kept-alive connection.
   */
  private waitingFor: 'request' | 'next' | null = null;
  /** The request at the buffer's start waits for its model's start: how to let go of it. */
  private waiting: { stop(): void } | null = null;
  /** It has waited (its arrival, for the usage record); it is served now or goes to node:http, never waits twice. */
  private waited: { startedAt: number; t0: number } | null = null;
  /** The head of the last request read in full, for a next one that repeats it. */
  private lastHead: RepeatedHead | null = null;
  /** The headers object the guard admitted last, and under which of its policies (a repeated head's is the same object). */
  private admittedHeaders: object | null = null;
  private admittedUnder: object | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly fast: FastPath,
  ) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('end', this.onEnd);
    // As node:http counts headersTimeout: from the connection's start.
    this.armTimer('request');
  }

  get idle(): boolean {
    return !this.busy && this.buffer === null;
  }

  private readonly onError = () => this.socket.destroy();

  /**
   * The client half-closed (curl -m giving up, a script that stopped waiting). As node:http does, that
   * ends the exchange: the engine request is cancelled (so it is no longer in flight and the engine
   * stops generating), requests read but not yet answered are dropped, and our side closes too; an
   * unfinished request gets node:http's 400.
   */
  private readonly onEnd = () => {
    this.clearTimer();
    if (this.busy) {
      this.exchange?.onClientClose();
      this.stopWaiting();
      this.buffer = null;
      this.socket.end();
      return;
    }
    if (this.buffer !== null) return this.refuse(BAD_REQUEST);
    this.socket.end();
  };

  private readonly onData = (chunk: Buffer) => {
    if (this.handed) return;
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
    if (this.handed || this.busy || this.socket.destroyed || this.socket.readableEnded) return;
    if (this.buffer === null) return this.armTimer('next');
    let request: ReturnType<typeof parseRequest> = this.lastHead === null ? null : repeatOf(this.lastHead, this.buffer);
    if (request === null) {
      request = parseRequest(this.buffer);
      if (typeof request === 'object' && request !== null) this.lastHead = rememberHead(request);
    }
    if (request === PARTIAL_HEAD || request === PARTIAL_BODY) {
      if (this.waitingFor !== 'request') this.armTimer('request');
      return;
    }
    if (request === null) return this.giveAway();
    // llhttp reads every request of a read before any is answered: when a pipelined one after this
    // is malformed, node:http answers only its 400. So such a buffer is node:http's, whole.
    if (request.length < this.buffer.length && !restParses(this.buffer.subarray(request.length))) return this.giveAway();
    const waited = this.waited;
    const startedAt = waited?.startedAt ?? Date.now();
    const t0 = waited?.t0 ?? performance.now();
    const admitted = this.admit(request);
    this.waited = null;
    if (!admitted) {
      // One that waited here for its start (now past the engine's connections): its usage record
      // counts from its arrival, as it would here.
      if (waited) noteArrival(this.socket, waited);
      return this.giveAway();
    }
    if (admitted.engine === null) return this.waitForStart(request, admitted.supervisor, admitted.requested, startedAt, t0);
    this.buffer = request.length === this.buffer.length ? null : this.buffer.subarray(request.length);
    this.busy = true;
    const capture: Capture | null = this.fast.options.usage
      ? { startedAt, t0, ttft: null, requested: admitted.requested, status: 0, tail: new AnswerTail(), filter: admitted.askedUsage ? new UsageEventFilter() : null }
      : null;
    new Exchange(this, this.fast.engines, admitted.supervisor, admitted.engine, request, capture, this.fast.options.usage ?? null, () => {
      this.busy = false;
      if (request.close) return void this.socket.end();
      this.socket.resume();
      this.next();
    });
    // The engine has the request: the head timer (a timers-list change) and the count go after it.
    this.clearTimer();
    this.fast.stats.served++;
  }

  /**
   * The model the request goes to and an engine connection for it, when everything about it is plain
   * and it is ready now; engine null: it may wait here for the model's start; null: node:http's.
   */
  private admit(request: ParsedRequest): { supervisor: ModelSupervisor; engine: EngineConnection | null; requested: string; askedUsage: boolean } | null {
    const { options } = this.fast;
    if (request.body.length > options.bodyLimitBytes()) return null;
    if (request.otherType !== undefined && !isJsonType(request.otherType)) return null;
    if (options.guard && !this.guardAdmits(options.guard, request.headers)) return null;
    let model = quickModelOf(request.body);
    // Only a body the scanner read knows its "stream": others are never changed.
    const stream = model !== undefined && quickStreamInfo.stream && !quickStreamInfo.streamOptions;
    if (model === undefined) {
      try {
        model = modelOf(request.body);
      } catch {
        return null; // node:http answers the 400
      }
    }
    const supervisor = options.registry.resolve(model);
    // An upstream model's server is not ours on 127.0.0.1 (upstreams/remote.ts): node:http proxies it.
    if (!supervisor || supervisor.remote !== null || !ENDPOINT_MODES[request.path]!.includes(supervisor.model.mode)) return null;
    if (supervisor.currentState !== 'ready') return this.mayWait(request, supervisor) ? { supervisor, engine: null, requested: model, askedUsage: false } : null;
    // Every connection slot of the engine in use: node:http queues it. A request that waited for the
    // start may go out on the connection of the probe that found the engine ready.
    const engine = this.fast.engines.take(supervisor.port, supervisor.connectionLimit, this.waited !== null ? supervisor.takeReadyConnection() : null);
    if (engine === null) return null;
    const served = supervisor.model.servedModelName;
    if (served !== null && served !== model) request.body = withModel(request.body, served);
    // A stream whose client didn't ask for usage: the engine is asked (and its usage event dropped
    // on the way back), unless it sends llama-server's timings, which carry the counts anyway.
    const askedUsage = stream && knowsIncludeUsage(request.path) && !supervisor.sendsTimings && options.usage?.wantsUsage?.() === true;
    if (askedUsage) request.body = withIncludeUsage(request.body);
    return { supervisor, engine, requested: model, askedUsage };
  }

  /**
   * The guard's quick verdict; a repeated head's (the same headers object, from the same peer) is
   * the one given under the same policy (the guard's look is pure: the same headers, the same answer).
   */
  private guardAdmits(guard: RequestGuard, headers: Readonly<Record<string, string>>): boolean {
    const policy = guard.currentPolicy();
    if (headers === this.admittedHeaders && policy === this.admittedUnder) return true;
    if (!guard.quickAdmit(headers, this.socket.remoteAddress)) return false;
    this.admittedHeaders = headers;
    this.admittedUnder = policy;
    return true;
  }

  /**
   * Whether the request may wait here for its model's start: once only, and only when node:http
   * would do nothing but wait either (no hold, no loading progress asked for, no refusal due now:
   * queue full, restart pause).
   */
  private mayWait(request: ParsedRequest, supervisor: ModelSupervisor): boolean {
    const { options } = this.fast;
    if (this.waited !== null || options.held?.()) return false;
    // Loading progress is node:http's (loading-stream.ts): asked for, or maybe wanted by the model
    // (a stream; a body the quick scanner can't read may be one).
    if (request.headers[LOADING_HEADER] !== undefined) return false;
    if (supervisor.model.loadingStream && (quickModelOf(request.body) === undefined || quickStreamInfo.stream)) return false;
    return supervisor.takesWaiter(options.queueLimit?.());
  }

  /**
   * Holds the request (its connection reads nothing more) until its model is ready, then serves it
   * as any (from its arrival, for the usage record); a failed start is answered with its 503. The
   * request counts as in flight meanwhile, as node:http's waiting one does.
   */
  private waitForStart(request: ParsedRequest, supervisor: ModelSupervisor, requested: string, startedAt: number, t0: number): void {
    this.clearTimer();
    this.busy = true;
    // Those of a crowd past the engine's connection limit are node:http's once it is ready: its pool
    // loads meanwhile (100-250 ms of undici's first import, measured in the cold burst).
    this.fast.options.preloadFullPath?.();
    // In flight while it waits; counted as a request where it goes on (its exchange, node:http) or ends here.
    const release = supervisor.acquire(true, false);
    let over = false;
    const end = (): boolean => {
      if (over) return false;
      over = true;
      this.waiting = null;
      return true;
    };
    this.waiting = {
      stop: () => {
        if (!end()) return;
        supervisor.countRequest();
        release();
        // As node:http records a request whose client left while it waited: no status.
        this.record(request, supervisor, requested, startedAt, t0, 0, null);
      },
    };
    const queueLimit = this.fast.options.queueLimit?.();
    supervisor.ensureReady(queueLimit === undefined ? {} : { queueLimit }).then(
      () => {
        if (!end()) return;
        this.busy = false;
        this.waited = { startedAt, t0 };
        // Its exchange (or node:http's request) holds the model in flight before this one lets go.
        this.next();
        this.waited = null;
        release();
      },
      (err: unknown) => {
        if (!end()) return;
        supervisor.countRequest();
        release();
        this.answerFailedStart(request, supervisor, requested, startedAt, t0, err);
      },
    );
  }

  /** The client left (or reset) while its request waited for a start. */
  stopWaiting(): void {
    this.waiting?.stop();
  }

  /** node:http's answer to a request whose start failed (sendError's JSON and retry-after); the connection goes on. */
  private answerFailedStart(request: ParsedRequest, supervisor: ModelSupervisor, requested: string, startedAt: number, t0: number, err: unknown): void {
    const error = asApiError(err);
    const body = JSON.stringify(error.toBody());
    const socket = this.socket;
    this.busy = false;
    this.buffer = request.length === this.buffer?.length ? null : (this.buffer?.subarray(request.length) ?? null);
    if (socket.writable) {
      socket.write(
        `${statusLine(error.status)}content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `${error.retryAfter !== undefined ? `retry-after: ${error.retryAfter}\r\n` : ''}${request.close ? 'connection: close\r\n\r\n' : KEEP_ALIVE_LINES}${body}`,
      );
    }
    this.record(request, supervisor, requested, startedAt, t0, error.status, error.code);
    if (request.close) return void socket.end();
    this.socket.resume();
    this.next();
  }

  /** A usage record for a request answered here without an exchange. */
  private record(request: ParsedRequest, supervisor: ModelSupervisor, requested: string, startedAt: number, t0: number, status: number, errorCode: string | null): void {
    this.fast.options.usage?.record(fastUsageRecord(request, supervisor, requested, startedAt, { status, errorCode, streamed: false, ttftMs: null, totalMs: performance.now() - t0, tail: null }));
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

  /**
   * While waiting, as node:http does: a head not complete within header_timeout gets a 408 and the
   * connection closes; a kept-alive connection idle for KEEP_ALIVE_MS closes. A request whose head
   * came but whose body is late is handed on, for node:http's request and body timeouts.
   */
  private armTimer(what: 'request' | 'next'): void {
    this.clearTimer();
    const ms = what === 'next' ? KEEP_ALIVE_MS : this.fast.options.headerTimeoutMs();
    if (ms <= 0) return;
    this.waitingFor = what;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.waitingFor = null;
      if (this.busy || this.handed) return;
      if (this.buffer === null && what === 'next') this.socket.destroy();
      else if (this.buffer !== null && parseRequest(this.buffer) === PARTIAL_BODY) this.giveAway();
      else this.refuse(REQUEST_TIMEOUT);
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waitingFor = null;
  }

  /** Answers as node:http does when it can't take a request (the same bytes), and closes. */
  private refuse(answer: string): void {
    this.clearTimer();
    this.buffer = null;
    this.handed = true;
    this.fast.forget(this);
    const socket = this.socket;
    if (socket.writable) socket.end(answer);
    // node:http destroys such a connection whatever the client does with its half.
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  }
}

// ---- reading a request off the bytes ----------------------------------------------------------
// A woken router runs its code cold: each string split, regex or C++ call it makes costs several
// microseconds before the request reaches the engine (measured on this VM: the string-based parser
// took 70–90 µs of a 240 µs request leg). So the request is read here as bytes: one loop checks
// every header line, only the few values the fast path needs become strings, and the lines to pass
// on are copied to the engine unchanged.

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SP = 0x20;
const QUESTION = 0x3f;
const HTAB = 0x09;

/** tchar (RFC 9110 §5.6.2): the bytes a header name may hold. */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_BYTE[c.charCodeAt(0)] = 1;
/** Bytes a header value may not hold: controls other than HTAB, and DEL (what node:http refuses). */
const BAD_VALUE_BYTE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) if (c !== HTAB) BAD_VALUE_BYTE[c] = 1;
BAD_VALUE_BYTE[0x7f] = 1;

// What the fast path does with a request header it knows by name:
/** passed on unchanged; */
const FORWARD = 0;
/** not passed on (hop-by-hop, the client's credentials, ...); */
const DROP = 1;
/** not passed on, and its value read (a repeat sends the request to node:http); */
const READ_VALUE = 2;
/** framed or meant otherwise (an upload in chunks, Expect, Upgrade, a browser's Sec-*, but for Sec-Fetch-Mode alone): node:http's business. */
const HAND_OFF_REQUEST = 3;
/** passed on, and checked to be JSON (once). */
const CONTENT_TYPE = 4;
/** passed on, and its (first) value read: the usage record's client, a loading-progress request. */
const FORWARD_READ = 5;
/** not passed on (ours says the body's size); where its digits are is kept, not a string. */
const CONTENT_LENGTH = 6;
type Use = typeof FORWARD | typeof DROP | typeof READ_VALUE | typeof HAND_OFF_REQUEST | typeof CONTENT_TYPE | typeof FORWARD_READ | typeof CONTENT_LENGTH;

const READ = ['host', 'connection', 'origin', 'authorization', 'x-api-key'];
const HAND_OFF = ['transfer-encoding', 'expect', 'upgrade'];

/** Known request header names by length: [lower-case name, its use]. */
const REQUEST_NAMES = byLength<Use>([
  ['content-type', CONTENT_TYPE],
  ['content-length', CONTENT_LENGTH],
  ['user-agent', FORWARD_READ],
  [LOADING_HEADER, FORWARD_READ],
  // The one Sec-* header of Node's fetch (undici; the OpenAI and other JS SDKs use it): passed on, as
  // node:http passes it. A browser's request carries Origin (handed on for the guard) and more Sec-*.
  ['sec-fetch-mode', FORWARD_READ],
  ...READ.map((n) => [n, READ_VALUE] as const),
  ...HAND_OFF.map((n) => [n, HAND_OFF_REQUEST] as const),
  ...[...NOT_FORWARDED].filter((n) => n !== 'content-length' && !READ.includes(n) && !HAND_OFF.includes(n)).map((n) => [n, DROP] as const),
]);

function byLength<T>(names: readonly (readonly [string, T])[]): (readonly [Buffer, string, T])[][] {
  const table: (readonly [Buffer, string, T])[][] = [];
  for (const [name, use] of names) (table[name.length] ??= []).push([Buffer.from(name, 'latin1'), name, use]);
  return table;
}

/** The known name buf[start, end) is, matched without regard to case (the bytes are tchars), or null. */
function knownName<T>(table: (readonly [Buffer, string, T])[][], buf: Buffer, start: number, end: number): readonly [Buffer, string, T] | null {
  const candidates = table[end - start];
  if (candidates === undefined) return null;
  for (const entry of candidates) {
    const name = entry[0];
    let i = 0;
    // tchars only: OR-ing 0x20 lower-cases letters and leaves '-' and digits as they are.
    while (i < name.length && (buf[start + i]! | 0x20) === name[i]) i++;
    if (i === name.length) return entry;
  }
  return null;
}

/** Whether buf[start, ...) begins with the lower-case ASCII `prefix`, without regard to case. */
function startsWithLower(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if ((buf[start + i]! | 0x20) !== prefix[i]) return false;
  return true;
}
const SEC = Buffer.from('sec-', 'latin1');

/** Index of the LF ending the line that starts at `from` (before `limit`), or -1. */
function lineEnd(buf: Buffer, from: number, limit: number): number {
  for (let i = from; i < limit; i++) if (buf[i] === LF) return i;
  return -1;
}

const LINE_PARTIAL = -1;
const LINE_BAD = -2;
/** The colon of the header line headerLine() read last (-1: it was the blank line ending the head). */
let lineColon = -1;

/**
 * Reads the header line at `at`: the index of its LF when it is a well-formed `name: value` line (a
 * name of tchars right before the colon, no control bytes in the value, CRLF at the end) or the
 * blank line that ends the head; LINE_PARTIAL when its end is not within `limit`; LINE_BAD when it
 * is malformed (a bare LF, a folded line, a space before the colon, a stray CR).
 */
function headerLine(buf: Buffer, at: number, limit: number): number {
  const lf = lineEnd(buf, at, limit);
  if (lf === -1) return LINE_PARTIAL;
  const end = lf - 1;
  if (end < at || buf[end] !== CR) return LINE_BAD;
  if (end === at) {
    lineColon = -1;
    return lf;
  }
  let colon = at;
  while (colon < end && TOKEN_BYTE[buf[colon]!] === 1) colon++;
  if (colon === at || buf[colon] !== COLON) return LINE_BAD;
  for (let i = colon + 1; i < end; i++) if (BAD_VALUE_BYTE[buf[i]!] === 1) return LINE_BAD;
  lineColon = colon;
  return lf;
}

/** Adds buf[start, end) to a list of [start, end) ranges; one that continues the last extends it. */
function addRange(ranges: number[], start: number, end: number): void {
  if (ranges.length > 0 && ranges[ranges.length - 1] === start) ranges[ranges.length - 1] = end;
  else ranges.push(start, end);
}

/** The first index from `start` that is not a space or tab (`end` at most). */
function skipOws(buf: Buffer, start: number, end: number): number {
  while (start < end && (buf[start] === SP || buf[start] === HTAB)) start++;
  return start;
}

/** The index after the last byte before `end` that is not a space or tab (`start` at least). */
function trimOws(buf: Buffer, start: number, end: number): number {
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HTAB)) end--;
  return end;
}

const ENDPOINTS = Object.keys(ENDPOINT_MODES).map((path) => [Buffer.from(path, 'latin1'), path] as const);
const POST_ = Buffer.from('POST ', 'latin1');
const _HTTP11 = Buffer.from(' HTTP/1.1', 'latin1');

function bytesAt(buf: Buffer, at: number, what: Buffer): boolean {
  if (at < 0 || at + what.length > buf.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[at + i] !== what[i]) return false;
  return true;
}

/** The endpoint path buf[start, end) is, or undefined. */
function endpointAt(buf: Buffer, start: number, end: number): string | undefined {
  for (const [bytes, path] of ENDPOINTS) if (bytes.length === end - start && bytesAt(buf, start, bytes)) return path;
  return undefined;
}

const APPLICATION_JSON = Buffer.from('application/json', 'latin1');

/** Whether a Content-Type value is application/json, parameters or not (isJsonType says the rest). */
function isPlainJson(buf: Buffer, start: number, end: number): boolean {
  start = skipOws(buf, start, end);
  if (!startsWithLower(buf, start, end, APPLICATION_JSON)) return false;
  for (let i = start + APPLICATION_JSON.length; i < end; i++) {
    if (buf[i] === 0x3b) return true; // ;
    if (buf[i] !== SP && buf[i] !== HTAB) return false;
  }
  return true;
}

/** A header value without its surrounding spaces and tabs, as a string. */
function valueOf(buf: Buffer, start: number, end: number): string {
  start = skipOws(buf, start, end);
  return buf.toString('latin1', start, trimOws(buf, start, end));
}

/** More bytes may complete the request: its head has not all come yet / its head has, its body not. */
const PARTIAL_HEAD = 0;
const PARTIAL_BODY = 1;

// node:http's own answers when it refuses a connection's request (the same bytes, so a client can't
// tell which path it met).
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * Whether an unfinished request line (no LF yet) may still become one the fast path takes: `POST `,
 * the start of an endpoint (or one and a query), then the start of ` HTTP/1.1\r`. Anything else —
 * another method, a TLS ClientHello, binary junk — is node:http's at once, which answers junk with
 * a 400 straight away instead of after header_timeout.
 */
function mayBecomeFastLine(buf: Buffer): boolean {
  const n = buf.length;
  for (let i = 0; i < POST_.length; i++) if (i < n && buf[i] !== POST_[i]) return false;
  if (n <= POST_.length) return true;
  let targetEnd = POST_.length;
  while (targetEnd < n && buf[targetEnd] !== SP) targetEnd++;
  let pathEnd = POST_.length;
  while (pathEnd < targetEnd && buf[pathEnd] !== QUESTION) pathEnd++;
  const pathLength = pathEnd - POST_.length;
  const pathComplete = pathEnd < targetEnd || targetEnd < n;
  let knownPath = false;
  for (const [bytes] of ENDPOINTS) {
    if (pathComplete ? bytes.length !== pathLength : bytes.length < pathLength) continue;
    let i = 0;
    while (i < pathLength && buf[POST_.length + i] === bytes[i]) i++;
    if (i === pathLength) {
      knownPath = true;
      break;
    }
  }
  if (!knownPath) return false;
  for (let i = pathEnd; i < targetEnd; i++) if (buf[i]! <= SP || buf[i]! >= 0x7f) return false;
  if (targetEnd === n) return true;
  // " HTTP/1.1\r": the version so far.
  for (let i = targetEnd; i < n; i++) {
    const k = i - targetEnd;
    if (k >= _HTTP11.length) return k === _HTTP11.length && buf[i] === CR && i === n - 1;
    if (buf[i] !== _HTTP11[k]) return false;
  }
  return true;
}

/**
 * A complete request the fast path may take, PARTIAL_HEAD or PARTIAL_BODY when more bytes may make
 * one, or null when it is not for the fast path (or not well-formed: node:http will say so).
 */
function parseRequest(buf: Buffer): ParsedRequest | typeof PARTIAL_HEAD | typeof PARTIAL_BODY | null {
  const limit = Math.min(buf.length, MAX_HEAD + 4);
  const first = lineEnd(buf, 0, limit);
  if (first === -1) return buf.length > MAX_HEAD || !mayBecomeFastLine(buf) ? null : PARTIAL_HEAD;
  // The request line: POST <endpoint> HTTP/1.1, ended by CRLF.
  if (buf[first - 1] !== CR || !bytesAt(buf, 0, POST_) || !bytesAt(buf, first - 1 - _HTTP11.length, _HTTP11)) return null;
  // The target: an endpoint, and maybe a query of visible ASCII (Claude Code asks /v1/messages?beta=true).
  const targetEnd = first - 1 - _HTTP11.length;
  let pathEnd = POST_.length;
  while (pathEnd < targetEnd && buf[pathEnd] !== QUESTION) pathEnd++;
  const path = endpointAt(buf, POST_.length, pathEnd);
  if (path === undefined) return null;
  for (let i = pathEnd; i < targetEnd; i++) if (buf[i]! <= SP || buf[i]! >= 0x7f) return null;
  const target = pathEnd === targetEnd ? path : path + buf.toString('latin1', pathEnd, targetEnd);
  const headers: Record<string, string> = {};
  const forward: number[] = [];
  let lengthAt = -1;
  let lengthEnd = -1;
  let sawType = false;
  let otherType: string | undefined;
  let at = first + 1;
  for (let lines = 0; ; lines++) {
    const start = at;
    const lf = headerLine(buf, start, limit);
    if (lf === LINE_PARTIAL) return buf.length > MAX_HEAD ? null : PARTIAL_HEAD;
    if (lf === LINE_BAD) return null;
    const colon = lineColon;
    at = lf + 1;
    if (colon === -1) break; // the blank line: the head ends here
    if (lines === MAX_HEADER_LINES) return null;
    const end = lf - 1;
    const known = knownName(REQUEST_NAMES, buf, start, colon);
    let use: Use = known === null ? FORWARD : known[2];
    if (use === FORWARD && startsWithLower(buf, start, colon, SEC)) use = HAND_OFF_REQUEST;
    if (use === HAND_OFF_REQUEST) return null;
    if (use === READ_VALUE) {
      const name = known![1];
      if (headers[name] !== undefined) return null; // repeated: node:http decides what it means
      headers[name] = valueOf(buf, colon + 1, end);
    } else if (use === FORWARD_READ) {
      headers[known![1]] ??= valueOf(buf, colon + 1, end);
      use = FORWARD;
    } else if (use === CONTENT_LENGTH) {
      if (lengthAt !== -1) return null; // repeated: node:http decides what it means
      lengthAt = skipOws(buf, colon + 1, end);
      lengthEnd = trimOws(buf, lengthAt, end);
    } else if (use === CONTENT_TYPE) {
      if (sawType) return null;
      sawType = true;
      if (!isPlainJson(buf, colon + 1, end)) otherType = valueOf(buf, colon + 1, end);
      use = FORWARD;
    }
    // Runs of lines passed on are one range.
    if (use === FORWARD) addRange(forward, start, lf + 1);
  }
  if (lengthAt === -1 || headers['host'] === undefined) return null;
  const size = bodySize(buf, lengthAt, lengthEnd);
  if (size === -1) return null;
  const length = at + size;
  if (buf.length < length) return PARTIAL_BODY;
  const connection = headers['connection'];
  const close = connection !== undefined && /(^|,)\s*close\s*(,|$)/i.test(connection);
  return { path, target, headers, otherType, raw: buf, forward, body: buf.subarray(at, length), length, close, headLength: at, lengthAt, lengthEnd };
}

/** The Content-Length digits buf[start, end) as a number, or -1: none, not all digits, more than MAX_BODY. */
function bodySize(buf: Buffer, start: number, end: number): number {
  if (end === start || end - start > 6) return -1;
  let size = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    size = size * 10 + d;
  }
  return size > MAX_BODY ? -1 : size;
}

/**
 * The head of the last request a connection sent in full, kept to read the next one that repeats it.
 * An SDK on a kept-alive connection sends the same head every time but for Content-Length's digits;
 * such a head would parse to the same request (the same headers, ranges, Connection), so it isn't
 * parsed again: its bytes are compared, and only the digits read. Saves the head's parse and the
 * guard's look at it (its verdict is kept with the headers object it was given), ~0.05 ms of the
 * first streamed byte on a router that sat idle (bench: stream added TTFB).
 */
interface RepeatedHead extends Pick<ParsedRequest, 'path' | 'target' | 'headers' | 'otherType' | 'forward' | 'close' | 'lengthAt' | 'lengthEnd'> {
  /** A copy of the head's bytes, its blank line included (not the buffer it came in: that holds the body too). */
  bytes: Buffer;
}

function rememberHead(r: ParsedRequest): RepeatedHead {
  const bytes = Buffer.from(r.raw.subarray(0, r.headLength));
  return { bytes, path: r.path, target: r.target, headers: r.headers, otherType: r.otherType, forward: r.forward, close: r.close, lengthAt: r.lengthAt, lengthEnd: r.lengthEnd };
}

/**
 * The request at the start of `buf` when its head repeats `last` byte for byte but for as many
 * Content-Length digits (PARTIAL_BODY when its body has not all come), else null: parse it.
 */
function repeatOf(last: RepeatedHead, buf: Buffer): ParsedRequest | typeof PARTIAL_BODY | null {
  const head = last.bytes;
  const n = head.length;
  if (buf.length < n) return null;
  const { lengthAt, lengthEnd } = last;
  for (let i = 0; i < lengthAt; i++) if (buf[i] !== head[i]) return null;
  for (let i = lengthEnd; i < n; i++) if (buf[i] !== head[i]) return null;
  const size = bodySize(buf, lengthAt, lengthEnd);
  if (size === -1) return null;
  const length = n + size;
  if (buf.length < length) return PARTIAL_BODY;
  return { path: last.path, target: last.target, headers: last.headers, otherType: last.otherType, raw: buf, forward: last.forward, body: buf.subarray(n, length), length, close: last.close, headLength: n, lengthAt, lengthEnd };
}

/** Whether pipelined bytes are requests the fast path would take, the last one maybe unfinished. */
function restParses(rest: Buffer): boolean {
  while (rest.length > 0) {
    const next = parseRequest(rest);
    if (next === null) return false;
    if (next === PARTIAL_HEAD || next === PARTIAL_BODY) return true;
    rest = rest.subarray(next.length);
  }
  return true;
}

/**
 * One connection to an engine. Its listeners stay for its whole life and pass what happens to the
 * exchange that holds it, so taking and giving back a kept-alive connection costs no listener or
 * timer changes on the hot path.
 */
class EngineConnection {
  exchange: Exchange | null = null;
  /** When it was given back (Date.now()); 0 while in use. */
  idleSince = 0;
  readonly socket: net.Socket;

  constructor(
    readonly port: number,
    slots: EngineSlots,
    onClose: (c: EngineConnection) => void,
    /** An open connection to the engine to use instead of a new one. */
    socket: net.Socket | null = null,
  ) {
    this.socket = socket ?? net.connect({ host: '127.0.0.1', port, noDelay: true });
    // It holds one of the engine's connection slots until it closes.
    this.socket.once('close', () => slots.release());
    // Bytes nobody asked for would be read as the next answer: such a connection is not reused.
    this.socket.on('data', (data: Buffer) => (this.exchange ? this.exchange.onEngineData(data) : this.socket.destroy()));
    // An engine that resets an idle connection must not take the node down; 'close' follows.
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.exchange?.onEngineError(err));
    this.socket.once('close', () => {
      onClose(this);
      this.exchange?.onEngineClose();
    });
  }
}

/** Kept-alive connections to the engines, per port, the most recently used last. */
class EngineSockets {
  private readonly idle = new Map<number, EngineConnection[]>();
  /** One timer for the whole pool closes connections idle too long (none per request). */
  private sweeper: NodeJS.Timeout | null = null;
  private readonly forget = (c: EngineConnection) => {
    const list = this.idle.get(c.port);
    const i = list?.indexOf(c) ?? -1;
    if (i !== -1) list!.splice(i, 1);
  };

  constructor(private readonly slots: EngineSlotTable) {
    slots.closeIdleFast = (port) => this.closeOneIdle(port);
  }

  /**
   * A kept-alive connection if there is a fresh one, else a new connection when the engine has a
   * free slot, else null (the request goes to node:http, where it waits its turn). One idle for
   * longer than ENGINE_IDLE_MS is closed instead of used (the engine may be closing it), and so is
   * one the engine has begun to close: a request is never written where it may be lost, because it
   * is never sent twice (the engine may have begun to generate).
   */
  take(port: number, limit: () => number, handed: net.Socket | null = null): EngineConnection | null {
    if (handed !== null) {
      // A connection opened elsewhere (a probe's, supervisor.takeReadyConnection): it needs a slot as any.
      const slots = this.slots.get(port, limit);
      if (slots.tryTake()) return new EngineConnection(port, slots, this.forget, handed);
      handed.destroy();
    }
    const list = this.idle.get(port);
    if (list !== undefined) {
      const now = Date.now();
      for (let c = list.pop(); c !== undefined; c = list.pop()) {
        if (c.socket.destroyed) continue;
        if (now - c.idleSince > ENGINE_IDLE_MS || c.socket.readableEnded || !c.socket.writable) {
          c.socket.destroy();
          continue;
        }
        c.idleSince = 0;
        return c;
      }
    }
    const slots = this.slots.get(port, limit);
    if (!slots.tryTake()) return null;
    return new EngineConnection(port, slots, this.forget);
  }

  give(connection: EngineConnection): void {
    connection.exchange = null;
    // A request waits for a slot of this engine (node:http's pool): this connection's is its.
    if ((this.slots.peek(connection.port)?.waiting ?? 0) > 0) return void connection.socket.destroy();
    connection.idleSince = Date.now();
    let list = this.idle.get(connection.port);
    if (!list) this.idle.set(connection.port, (list = []));
    list.push(connection);
    if (!this.sweeper) this.armSweep(ENGINE_IDLE_MS);
  }

  private armSweep(ms: number): void {
    this.sweeper = setTimeout(() => this.sweep(), ms);
    this.sweeper.unref();
  }

  /** Closes what has been idle for ENGINE_IDLE_MS (before engines close theirs); runs again while any are left. */
  private sweep(): void {
    this.sweeper = null;
    const now = Date.now();
    let next = Infinity;
    for (const list of this.idle.values()) {
      for (const c of list.splice(0)) {
        if (c.socket.destroyed) continue;
        const due = c.idleSince + ENGINE_IDLE_MS;
        if (due <= now) c.socket.destroy();
        else {
          list.push(c);
          next = Math.min(next, due - now);
        }
      }
    }
    if (next !== Infinity) this.armSweep(next);
  }

  /** Closes the most recently idle connection to `port` (for a request waiting for a slot). */
  private closeOneIdle(port: number): boolean {
    const list = this.idle.get(port);
    for (let c = list?.pop(); c !== undefined; c = list?.pop()) {
      if (c.socket.destroyed) continue;
      c.socket.destroy();
      return true;
    }
    return false;
  }

  idleCount(): number {
    let n = 0;
    for (const list of this.idle.values()) for (const c of list) if (!c.socket.destroyed) n++;
    return n;
  }

  close(): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = null;
    for (const list of this.idle.values()) {
      for (const c of list.splice(0)) c.socket.destroy();
    }
  }
}

type BodyFraming = 'chunked' | 'length' | 'close' | 'none';

// ---- writing our answer head -----------------------------------------------------------------

const HEAD_PARTIAL = -1;
const HEAD_BAD = -2;
const HEAD_OVERSIZED = -3;

// What the relay does with an engine's answer header it knows by name:
const ANSWER_PASS = 0;
const ANSWER_DROP = 1;
const ANSWER_TRANSFER = 2;
const ANSWER_LENGTH = 3;
const ANSWER_CONNECTION = 4;
const ANSWER_TYPE = 5;
const READ_ANSWER: readonly (readonly [string, number])[] = [
  ['transfer-encoding', ANSWER_TRANSFER],
  ['content-length', ANSWER_LENGTH],
  ['connection', ANSWER_CONNECTION],
  ['content-type', ANSWER_TYPE],
];
/** Our own framing and CORS replace the engine's (hop-by-hop and CORS_HEADER_PREFIX lines); the rest passes. */
const ANSWER_NAMES = byLength<number>([...READ_ANSWER, ...[...HOP_BY_HOP].filter((n) => !READ_ANSWER.some(([r]) => r === n)).map((n) => [n, ANSWER_DROP] as const)]);
const ACCESS_CONTROL = Buffer.from(CORS_HEADER_PREFIX, 'latin1');
const HTTP_1 = Buffer.from('HTTP/1.', 'latin1');
const KEEP_ALIVE_LINES = `connection: keep-alive\r\nkeep-alive: timeout=${KEEP_ALIVE_MS / 1000}\r\n\r\n`;
const CHUNKED = Buffer.from('chunked', 'latin1');

const EVENT_STREAM = Buffer.from('text/event-stream', 'latin1');
const CLOSE = Buffer.from('close', 'latin1');

/** Whether buf[start, end) holds the bytes of `what` (case as given). */
function holds(buf: Buffer, start: number, end: number, what: Buffer): boolean {
  for (let i = start; i + what.length <= end; i++) if (bytesAt(buf, i, what)) return true;
  return false;
}

/** What \s is in a header value read as latin1 (no other control byte gets this far). */
const isSpace = (c: number) => c === SP || c === HTAB || c === 0xa0;

/** Whether a Connection value's list holds "close" (what /(^|,)\s*close\s*(,|$)/i says of its text). */
function listHasClose(buf: Buffer, start: number, end: number): boolean {
  for (let from = start; from <= end; ) {
    let to = from;
    while (to < end && buf[to] !== 0x2c) to++;
    let a = from;
    let b = to;
    while (a < b && isSpace(buf[a]!)) a++;
    while (b > a && isSpace(buf[b - 1]!)) b--;
    if (b - a === CLOSE.length && startsWithLower(buf, a, b, CLOSE)) return true;
    from = to + 1;
  }
  return false;
}

/** Whether a Transfer-Encoding value ends in chunked (what /(^|,)\s*chunked\s*$/i says). */
function endsWithChunked(buf: Buffer, start: number, end: number): boolean {
  end = trimOws(buf, start, end);
  const from = end - CHUNKED.length;
  if (from < start || !startsWithLower(buf, from, end, CHUNKED)) return false;
  const before = trimOws(buf, start, from);
  return before === start || buf[before - 1] === 0x2c;
}

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) statusLines.set(status, (line = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}\r\n`));
  return line;
}
const statusLineBytes = new Map<number, Buffer>();
function statusBytes(status: number): Buffer {
  let line = statusLineBytes.get(status);
  if (line === undefined) statusLineBytes.set(status, (line = Buffer.from(statusLine(status), 'latin1')));
  return line;
}

/** `first` + the [start, end) ranges of `buf` + `last` (+ `body`), in one buffer; the strings are latin1. */
function assemble(first: Buffer, buf: Buffer, ranges: number[], last: Buffer | string, body?: Buffer): Buffer {
  return assembleWithLength(first, -1, buf, ranges, last, body);
}

/**
 * assemble(), with `length` (when not -1) written in decimal and a CRLF right after `first`: the
 * engine request's Content-Length, made in the same buffer.
 */
function assembleWithLength(first: Buffer, length: number, buf: Buffer, ranges: number[], last: Buffer | string, body?: Buffer): Buffer {
  let digits = length >= 0 ? 1 : 0;
  for (let n = length; n >= 10; n = Math.floor(n / 10)) digits++;
  let size = first.length + (length >= 0 ? digits + 2 : 0) + last.length + (body?.length ?? 0);
  for (let i = 0; i < ranges.length; i += 2) size += ranges[i + 1]! - ranges[i]!;
  const out = Buffer.allocUnsafe(size);
  out.set(first, 0);
  let at = first.length;
  if (length >= 0) {
    for (let n = length, i = at + digits - 1; i >= at; i--, n = Math.floor(n / 10)) out[i] = 0x30 + (n % 10);
    at += digits;
    out[at++] = CR;
    out[at++] = LF;
  }
  for (let i = 0; i < ranges.length; i += 2) {
    out.set(buf.subarray(ranges[i]!, ranges[i + 1]!), at);
    at += ranges[i + 1]! - ranges[i]!;
  }
  if (typeof last === 'string') at += out.write(last, at, 'latin1');
  else {
    out.set(last, at);
    at += last.length;
  }
  if (body) out.set(body, at);
  return out;
}

// The constant parts of what we write, as bytes made once (a string would be encoded on every
// request, a call into C++ each time).
/** Per engine port, the request lines before Content-Length's digits, for the target used last. */
const requestLines = new Map<number, { target: string; bytes: Buffer }>();
let keyLines: { key: string; bytes: Buffer } | null = null;
const END_OF_HEAD = Buffer.from('\r\n', 'latin1');
const CHUNKED_KEEP_ALIVE = Buffer.from(`transfer-encoding: chunked\r\n${KEEP_ALIVE_LINES}`, 'latin1');
const CHUNKED_CLOSE = Buffer.from('transfer-encoding: chunked\r\nconnection: close\r\n\r\n', 'latin1');

/** The request for the engine: our request line and host, the client's other lines as sent, the body. */
function engineRequest(request: ParsedRequest, port: number, key: string | null | undefined): Buffer {
  let lines = requestLines.get(port);
  if (lines === undefined || lines.target !== request.target) {
    lines = { target: request.target, bytes: Buffer.from(`POST ${request.target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: `, 'latin1') };
    requestLines.set(port, lines);
  }
  let last: Buffer = END_OF_HEAD;
  if (key) {
    if (keyLines === null || keyLines.key !== key) keyLines = { key, bytes: Buffer.from(`authorization: Bearer ${key}\r\n\r\n`, 'latin1') };
    last = keyLines.bytes;
  }
  return assembleWithLength(lines.bytes, request.body.length, request.raw, request.forward, last, request.body);
}

/**
 * The usage record of a request the fast path answered: its client (the key's name, else the user
 * agent's product) is worked out here, once the client has its answer, not on the way to the first byte.
 */
function fastUsageRecord(
  request: ParsedRequest,
  supervisor: ModelSupervisor,
  requested: string,
  startedAt: number,
  outcome: { status: number; errorCode: string | null; streamed: boolean; ttftMs: number | null; totalMs: number; tail: string | null },
): UsageRecord {
  return usageRecord({
    startedAt,
    model: supervisor.name,
    requested,
    endpoint: request.path,
    client: keyNameOfHeaders(request.headers) ?? userAgentProduct(request.headers['user-agent']),
    ...outcome,
  });
}

/** One request relayed to the engine and its answer back, byte for byte where the framing allows. */
class Exchange {
  private head: Buffer | null = null;
  private answered = false;
  private streaming = false;
  private framing: BodyFraming = 'none';
  private left = 0;
  private chunk = new ChunkTracker();
  private finished = false;
  private engineKeepsSocket = true;
  /** Our response head, sent with the first body bytes (one write, not two). */
  private pending: Buffer | null = null;
  private readonly release: () => void;

  constructor(
    private readonly client: ClientConnection,
    private readonly engines: EngineSockets,
    private readonly supervisor: ModelSupervisor,
    private readonly engine: EngineConnection,
    private readonly request: ParsedRequest,
    private readonly capture: Capture | null,
    private readonly usage: UsageSink | null,
    private readonly onDone: () => void,
  ) {
    // Announced once the answer has started: nothing but the request itself on the way to the engine.
    this.release = supervisor.acquire(false);
    client.exchange = this;
    engine.exchange = this;
    engine.socket.write(engineRequest(request, supervisor.port, supervisor.engineKey));
  }

  readonly onEngineData = (data: Buffer): void => {
    if (this.answered) return this.body(data);
    const head = this.head ? Buffer.concat([this.head, data]) : data;
    const end = this.answerHead(head);
    if (end === HEAD_PARTIAL) {
      this.head = head;
      return;
    }
    this.head = null;
    if (end === HEAD_OVERSIZED) return this.fail(new Error('the engine sent an oversized response head'));
    if (end === HEAD_BAD) return this.fail(new Error('the engine sent a malformed response'));
    const rest = head.subarray(end);
    if (!this.answered) {
      // A 1xx: dropped, the real answer follows.
      if (rest.length > 0) this.onEngineData(rest);
      return;
    }
    if (this.framing === 'none') {
      // Bytes after an answer that has ended are no answer to anything: the connection isn't reused.
      if (rest.length > 0) this.engineKeepsSocket = false;
      return this.finish(true);
    }
    this.body(rest);
  };

  /**
   * Reads the engine's answer head at the start of `buf` and makes ours (in `pending`, sent with the
   * first body bytes): its header lines pass unchanged but for hop-by-hop and CORS ones, and the
   * body framing is ours. Returns the index just past the head (`answered` stays false for a 1xx),
   * or HEAD_PARTIAL, HEAD_BAD, HEAD_OVERSIZED.
   */
  private answerHead(buf: Buffer): number {
    const limit = Math.min(buf.length, MAX_HEAD + 4);
    const first = lineEnd(buf, 0, limit);
    if (first === -1) return buf.length > MAX_HEAD ? HEAD_OVERSIZED : HEAD_PARTIAL;
    // HTTP/1.0 or 1.1, a space, three digits.
    if (buf[first - 1] !== CR || !bytesAt(buf, 0, HTTP_1) || (buf[7] !== 0x30 && buf[7] !== 0x31) || buf[8] !== SP) return HEAD_BAD;
    const d1 = buf[9]! - 0x30;
    const d2 = buf[10]! - 0x30;
    const d3 = buf[11]! - 0x30;
    if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9 && d3 >= 0 && d3 <= 9) || first - 1 < 12) return HEAD_BAD;
    const status = d1 * 100 + d2 * 10 + d3;
    // 000-099 and 600+ are no status (read as a 1xx, the client would wait for ever); a 101 switches
    // protocols nobody asked to switch to.
    if (status < 100 || status > 599 || status === 101) return HEAD_BAD;
    const pass: number[] = [];
    let chunked = false;
    let length: string | undefined;
    let engineCloses = false;
    let at = first + 1;
    for (;;) {
      const start = at;
      const lf = headerLine(buf, start, limit);
      if (lf === LINE_PARTIAL) return buf.length > MAX_HEAD ? HEAD_OVERSIZED : HEAD_PARTIAL;
      // What node:http would refuse to send (a stray CR or LF would split our answer): a 502 instead.
      if (lf === LINE_BAD) return HEAD_BAD;
      const colon = lineColon;
      at = lf + 1;
      if (colon === -1) break;
      const end = lf - 1;
      const known = knownName(ANSWER_NAMES, buf, start, colon);
      const use = known === null ? (startsWithLower(buf, start, colon, ACCESS_CONTROL) ? ANSWER_DROP : ANSWER_PASS) : known[2];
      if (use === ANSWER_TRANSFER) chunked = endsWithChunked(buf, colon + 1, end);
      else if (use === ANSWER_LENGTH) length = valueOf(buf, colon + 1, end);
      else if (use === ANSWER_CONNECTION) engineCloses = listHasClose(buf, colon + 1, end);
      else if (use === ANSWER_TYPE && holds(buf, colon + 1, end, EVENT_STREAM)) this.streaming = true;
      if (use === ANSWER_PASS || use === ANSWER_TYPE) addRange(pass, start, lf + 1);
    }
    if (status < 200) return at;
    this.answered = true;
    const capture = this.capture;
    if (capture) {
      capture.status = status;
      // Only a stream that is the answer has the usage event to drop; an error passes as it is.
      if (capture.filter && !(this.streaming && status >= 200 && status < 300)) capture.filter = null;
    }
    if (status === 204 || status === 304) this.framing = 'none';
    else if (chunked) this.framing = 'chunked';
    else if (length !== undefined && /^\d+$/.test(length)) {
      this.framing = Number(length) === 0 ? 'none' : 'length';
      this.left = Number(length);
    } else this.framing = 'close';
    let tail: Buffer | string = '';
    if (this.framing === 'chunked' || this.framing === 'close' || (capture?.filter && this.framing === 'length')) tail = this.request.close ? CHUNKED_CLOSE : CHUNKED_KEEP_ALIVE;
    else {
      if (this.framing === 'length') tail += `content-length: ${this.left}\r\n`;
      else if (status !== 204 && status !== 304) tail += 'content-length: 0\r\n';
      // As node:http says it: how long the connection stays open for the next request.
      tail += this.request.close ? 'connection: close\r\n\r\n' : KEEP_ALIVE_LINES;
    }
    this.engineKeepsSocket = !engineCloses && this.framing !== 'close';
    this.pending = assemble(statusBytes(status), buf, pass, tail);
    return at;
  }

  private body(data: Buffer): void {
    const filter = this.capture?.filter;
    if (filter) return this.filteredBody(data, filter);
    let piece = data;
    let done = false;
    if (this.framing === 'length') {
      if (piece.length >= this.left) {
        if (piece.length > this.left) this.engineKeepsSocket = false;
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
        if (end < piece.length) this.engineKeepsSocket = false;
        piece = piece.subarray(0, end);
        done = true;
      }
    } else if (this.framing === 'close' && piece.length > 0) {
      piece = asChunk(piece);
    }
    this.capture?.tail.push(piece);
    this.write(piece);
    if (done) this.finish(true);
  }

  /**
   * The body of a stream whose usage event the router asked for: its data (out of the engine's
   * framing) passes through the filter and goes on in chunks of ours.
   */
  private filteredBody(data: Buffer, filter: UsageEventFilter): void {
    let done = false;
    let payload: Buffer;
    if (this.framing === 'chunked') {
      const pieces: Buffer[] = [];
      let end: number;
      try {
        end = this.chunk.feed(data, (buf, start, stop) => pieces.push(buf.subarray(start, stop)));
      } catch (err) {
        return this.fail(err as Error);
      }
      if (end !== -1) {
        if (end < data.length) this.engineKeepsSocket = false;
        done = true;
      }
      payload = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    } else if (this.framing === 'length') {
      payload = data;
      if (payload.length >= this.left) {
        if (payload.length > this.left) this.engineKeepsSocket = false;
        payload = payload.subarray(0, this.left);
        done = true;
      }
      this.left -= payload.length;
    } else {
      payload = data;
    }
    let out = filter.feed(payload);
    if (done) {
      const rest = filter.flush();
      if (rest.length > 0) out = Buffer.concat([out, rest]);
    }
    this.capture!.tail.push(out);
    // One buffer: our head (before the first bytes), the chunk, the last chunk at the end. Nothing
    // to pass on yet: our head goes now all the same (the client hears the answer has begun).
    if (out.length > 0 || done) this.send(asChunk(out, this.pending, done));
    else this.write(out);
    if (done) this.finish(true);
  }

  private write(piece: Buffer): void {
    const head = this.pending;
    this.send(head === null ? piece : piece.length > 0 ? Buffer.concat([head, piece], head.length + piece.length) : head);
  }

  /** Writes `out` to the client: it begins with our pending head, if one is pending. */
  private send(out: Buffer): void {
    const head = this.pending;
    this.pending = null;
    if (out.length === 0) return;
    // Each piece goes out as it arrives (no batching); a slow client pauses the engine.
    if (!this.client.socket.write(out)) {
      const engine = this.engine.socket;
      engine.pause();
      this.client.socket.once('drain', () => engine.resume());
    }
    // The in-flight news waits until the answer's first bytes are on their way.
    if (head !== null) {
      this.supervisor.announce();
      if (this.capture) this.capture.ttft = performance.now() - this.capture.t0;
    }
  }

  readonly onEngineError = (err: NodeJS.ErrnoException): void => this.fail(err);

  readonly onEngineClose = (): void => {
    if (this.finished) return;
    if (this.answered && this.framing === 'close') {
      const rest = this.capture?.filter?.flush();
      this.write(asChunk(rest ?? Buffer.alloc(0), null, true));
      return this.finish(false);
    }
    this.fail(Object.assign(new Error('the engine closed the connection'), { code: 'ECONNRESET' }));
  };

  readonly onClientClose = (): void => {
    if (this.finished) return;
    // The client left mid-answer: the engine stops working on it when its socket closes.
    this.detach();
    this.finished = true;
    this.engine.socket.destroy();
    this.release();
    this.recordUsage(this.capture?.status ?? 0, null);
  };

  private fail(err: NodeJS.ErrnoException): void {
    if (this.finished) return;
    this.detach();
    this.engine.socket.destroy();
    this.finished = true;
    if (err.code === 'ECONNREFUSED') this.supervisor.reportUnreachable();
    const socket = this.client.socket;
    if (!this.answered) {
      const error = engineClosedError(this.supervisor);
      const body = JSON.stringify(error.toBody());
      socket.write(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${this.request.close ? 'connection: close\r\n' : ''}\r\n${body}`);
      this.release();
      this.onDone();
      this.recordUsage(502, error.code);
      return;
    }
    this.recordUsage(this.capture?.status ?? 0, 'engine_died');
    // Mid-answer: a stream's client is told in-band; a plain answer is cut off. (A filtered stream
    // goes out in whole chunks of ours, whatever the engine's framing.)
    const filtered = Boolean(this.capture?.filter);
    if (this.streaming && (this.framing !== 'length' || filtered)) {
      const event = engineDiedEvent(this.supervisor);
      const chunk = this.chunk.inChunk && !filtered ? '' : `${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`;
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
    if (keepEngine && this.engineKeepsSocket) this.engines.give(this.engine);
    else this.engine.socket.destroy();
    this.release();
    this.onDone();
    this.recordUsage(this.capture?.status ?? 0, null);
  }

  /** Hands the usage ledger this exchange's record; runs after the client has the whole answer. */
  private recordUsage(status: number, errorCode: string | null): void {
    const capture = this.capture;
    if (!capture || !this.usage) return;
    const totalMs = performance.now() - capture.t0;
    // A filtered stream's tail holds what passed the filter (no framing); else the relayed bytes.
    const tail = answerText(capture.tail, capture.filter, !capture.filter && (this.framing === 'chunked' || this.framing === 'close'));
    const record = fastUsageRecord(this.request, this.supervisor, capture.requested, capture.startedAt, { status, errorCode, streamed: this.streaming, ttftMs: capture.ttft, totalMs, tail });
    if (this.streaming && errorCode === null) noteStreamTimings(this.supervisor, this.request.path, status, tail);
    this.usage.record(record);
  }

  private detach(): void {
    if (this.engine.exchange === this) this.engine.exchange = null;
    if (this.client.exchange === this) this.client.exchange = null;
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
  feed(data: Buffer, onData?: (buf: Buffer, start: number, end: number) => void): number {
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
          if (onData) onData(data, i, i + take);
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

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * `data` as one chunk of chunked framing (none when empty), after `head` when given, and the last
 * chunk after it when `last`: one buffer, written in one go, made without calls into C++ (what it
 * costs matters on every token of a stream).
 */
function asChunk(data: Buffer, head: Buffer | null = null, last = false): Buffer {
  let digits = 0;
  for (let n = data.length; n > 0; n = Math.floor(n / 16)) digits++;
  const h = head === null ? 0 : head.length;
  const framed = data.length === 0 ? 0 : digits + 2 + data.length + 2;
  const out = Buffer.allocUnsafe(h + framed + (last ? LAST_CHUNK.length : 0));
  if (head !== null) out.set(head, 0);
  let at = h;
  if (framed > 0) {
    for (let n = data.length, i = at + digits - 1; i >= at; i--, n = Math.floor(n / 16)) out[i] = HEX[n % 16]!;
    at += digits;
    out[at++] = CR;
    out[at++] = LF;
    out.set(data, at);
    at += data.length;
    out[at++] = CR;
    out[at++] = LF;
  }
  if (last) out.set(LAST_CHUNK, at);
  return out;
}
const HEX = Buffer.from('0123456789abcdef', 'latin1');

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
