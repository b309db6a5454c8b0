// The door check every request passes before it reaches /v1, /api or the web UI: is it addressed to
// us (Host), may the page that sent it use us (Origin, Sec-Fetch-Site, CORS preflight), and does it
// carry a key when keys are set. O(headers) per request; the derived tables are rebuilt only when
// the config object changes.
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { ProgramConfig } from '../../../src-shared/config.js';
import { ApiError, errorBody } from '../../../src-shared/errors.js';
import { isAllowedHost, isLoopbackAddress, isLoopbackHost } from './host.js';

/** Which part of the server a request is for: the OpenAI API, the management API, or the static web UI. */
export type Surface = 'v1' | 'api' | 'web';

export interface GuardOptions {
  program: () => ProgramConfig;
  /** The address the server listens on (after CLI overrides). */
  boundHost: string;
  /**
   * A key made for this process only (never stored): the app's own window sends it from its
   * file:// page (Origin null) to /v1, where no configured origin would let it in.
   */
  localKey: string;
  /** Told of every request refused for a missing or wrong key (the node logs them, rate-limited). */
  onKeyRefused?: (code: string, peer: string | undefined) => void;
}

interface Policy {
  program: ProgramConfig;
  keyDigests: Buffer[];
  /** Aligned with keyDigests: what usage is kept under. */
  keyNames: string[];
  origins: ReadonlySet<string>;
  anyOrigin: boolean;
  hosts: { names: ReadonlySet<string>; suffixes: readonly string[]; anyIp: boolean };
  /** Listening beyond loopback with no key and no explicit allow_insecure_lan (set after a config change): only local peers. */
  localPeersOnly: boolean;
}

const PREFLIGHT_MAX_AGE_S = '600';
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type, x-api-key';
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The name the app's own window is known by when keys are set (it sends the node's local key). */
export const LOCAL_KEY_NAME = 'llm-manager';

// Request (node:http) or head (the fast path's parsed headers) → the name of the key that let it in.
const admittedKeys = new WeakMap<object, string>();

/** The name of the API key that authenticated this request (program.api_keys' name, "key-N", "env-N"); null when none was needed. */
export function keyNameOf(req: http.IncomingMessage): string | null {
  return admittedKeys.get(req) ?? null;
}

/** The same for the fast path: its parsed headers object, as given to quickAdmit(). */
export function keyNameOfHeaders(headers: object): string | null {
  return admittedKeys.get(headers) ?? null;
}

export class RequestGuard {
  private policyFor: ProgramConfig | null = null;
  private policy!: Policy;
  private readonly localDigest: Buffer;
  private readonly exposed: boolean;

  constructor(private readonly options: GuardOptions) {
    this.localDigest = digest(options.localKey);
    this.exposed = !isLoopbackHost(options.boundHost);
  }

  /**
   * True when the request may go on (CORS headers for an allowed cross-origin caller are set on
   * `res`); otherwise it has been answered (403/401, or a preflight) and the caller must stop.
   */
  admit(req: http.IncomingMessage, res: http.ServerResponse, surface: Surface): boolean {
    const p = this.current();
    const host = req.headers.host;
    if (host !== undefined && !isAllowedHost(host, p.hosts)) {
      return deny(
        res,
        new ApiError(
          403,
          'host_not_allowed',
          `requests addressed to "${clip(host)}" are refused (a web page may be trying to reach this computer through DNS rebinding); use http://127.0.0.1 or http://localhost, or add the name to program.allowed_hosts`,
        ),
      );
    }
    if (p.localPeersOnly && !isLoopbackAddress(req.socket.remoteAddress)) {
      return deny(res, new ApiError(403, 'remote_access_disabled', 'this node accepts requests from other machines only when program.api_keys is set (or program.allow_insecure_lan: true)'));
    }
    if (surface === 'web') return true;

    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        this.preflight(req, res, surface, p, origin);
        return false;
      }
      const o = origin.toLowerCase();
      if (!isSameOrigin(o, host)) {
        if (isListed(p, o, surface)) {
          setCorsHeaders(res, p.origins.has(o) ? origin : '*');
        } else if (surface === 'v1' && isLocalPageOrigin(o) && this.matches(presentedKey(req), p, true)) {
          setCorsHeaders(res, origin);
        } else {
          return deny(res, originRefused(origin, surface));
        }
      }
    }
    if (surface === 'api') {
      // Browsers say where a request comes from even without Origin (a GET from <img>, <script>).
      const site = req.headers['sec-fetch-site'];
      if ((site === 'cross-site' || site === 'same-site') && !(origin !== undefined && isListed(p, origin.toLowerCase(), 'api'))) {
        return deny(res, new ApiError(403, 'cross_site_request', 'the management API refuses requests sent by other web sites; add the site to program.cors_origins if it is yours'));
      }
    }
    if (p.keyDigests.length > 0) {
      const key = presentedKey(req);
      if (key === undefined) {
        this.options.onKeyRefused?.('missing_api_key', req.socket.remoteAddress);
        return deny(res, new ApiError(401, 'missing_api_key', 'this node needs an API key: send "Authorization: Bearer <key>" (or "x-api-key: <key>") with one of program.api_keys'), true);
      }
      const match = this.match(key, p, true);
      if (match === null) {
        this.options.onKeyRefused?.('invalid_api_key', req.socket.remoteAddress);
        return deny(res, new ApiError(401, 'invalid_api_key', 'incorrect API key provided'), true);
      }
      admittedKeys.set(req, match);
    }
    return true;
  }

  /**
   * For the router's fast path: true only when admit() would let this request in untouched — a
   * Host we answer to, a peer we serve, no Origin (so no CORS to decide) and, with keys set, a
   * matching key. Anything else goes the full way, where admit() answers it.
   */
  quickAdmit(headers: Readonly<Record<string, string>>, remoteAddress: string | undefined): boolean {
    const p = this.current();
    const host = headers['host'];
    if (host === undefined || !isAllowedHost(host, p.hosts)) return false;
    if (p.localPeersOnly && !isLoopbackAddress(remoteAddress)) return false;
    if (headers['origin'] !== undefined) return false;
    if (p.keyDigests.length === 0) return true;
    const match = this.match(keyFromHeaders(headers), p, true);
    if (match === null) return false;
    admittedKeys.set(headers, match);
    return true;
  }

  private preflight(req: http.IncomingMessage, res: http.ServerResponse, surface: Surface, p: Policy, origin: string): void {
    const o = origin.toLowerCase();
    const requested = req.headers['access-control-request-headers'];
    const wantsKey = typeof requested === 'string' && /(^|[\s,])(authorization|x-api-key)($|[\s,])/i.test(requested);
    const listed = isListed(p, o, surface);
    // The app's own window (file://) must send its key; the preflight itself never carries one.
    const localPage = surface === 'v1' && isLocalPageOrigin(o) && wantsKey;
    if (!listed && !localPage) return void deny(res, originRefused(origin, surface));
    const headers: http.OutgoingHttpHeaders = {
      'access-control-allow-origin': p.origins.has(o) || localPage ? origin : '*',
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': typeof requested === 'string' && HEADER_LIST.test(requested) ? requested : DEFAULT_ALLOWED_HEADERS,
      'access-control-max-age': PREFLIGHT_MAX_AGE_S,
      vary: 'Origin, Access-Control-Request-Headers',
      'content-length': 0,
    };
    res.writeHead(204, headers);
    res.end();
  }

  private matches(key: string | undefined, p: Policy, acceptLocal: boolean): boolean {
    return this.match(key, p, acceptLocal) !== null;
  }

  /** The matching key's name, or null. Constant-time: every configured key is compared, whichever matches. */
  private match(key: string | undefined, p: Policy, acceptLocal: boolean): string | null {
    if (key === undefined) return null;
    const presented = digest(key);
    let name: string | null = null;
    for (let i = 0; i < p.keyDigests.length; i++) if (timingSafeEqual(p.keyDigests[i]!, presented)) name = p.keyNames[i]!;
    if (acceptLocal && timingSafeEqual(this.localDigest, presented)) name = LOCAL_KEY_NAME;
    return name;
  }

  /** The policy requests are judged by: the same object until the config changes (a verdict kept with it holds while it does). */
  currentPolicy(): object {
    return this.current();
  }

  private current(): Policy {
    const program = this.options.program();
    if (program !== this.policyFor) {
      this.policy = buildPolicy(program, this.options.boundHost, this.exposed);
      this.policyFor = program;
    }
    return this.policy;
  }
}

function buildPolicy(program: ProgramConfig, boundHost: string, exposed: boolean): Policy {
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const name of program.allowedHosts) {
    if (name.startsWith('.')) {
      suffixes.push(name);
      names.add(name.slice(1));
    } else {
      names.add(name.endsWith('.') ? name.slice(0, -1) : name);
    }
  }
  // A node told to listen on a name (host: "mybox.lan") answers to that name.
  const bound = boundHost.trim().toLowerCase();
  if (bound !== '' && !bound.includes(':') && !/^[\d.]+$/.test(bound)) names.add(bound);
  const origins = new Set(program.corsOrigins.filter((o) => o !== '*'));
  return {
    program,
    keyDigests: program.apiKeys.map(digest),
    keyNames: program.apiKeys.map((_key, i) => program.apiKeyNames?.[i] ?? `key-${i + 1}`),
    origins,
    anyOrigin: program.corsOrigins.includes('*'),
    hosts: { names, suffixes, anyIp: exposed },
    localPeersOnly: exposed && program.apiKeys.length === 0 && !program.allowInsecureLan,
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** "*" and "null" (any page without an origin, a sandboxed iframe among them) open /v1 only, never /api. */
function isListed(p: Policy, origin: string, surface: Surface): boolean {
  if (surface === 'v1') return p.anyOrigin || p.origins.has(origin);
  return origin !== 'null' && p.origins.has(origin);
}

/** `Authorization: Bearer KEY`, else `x-api-key: KEY`. */
export function presentedKey(req: http.IncomingMessage): string | undefined {
  return keyFromHeaders(req.headers);
}

function keyFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.trim() !== '' ? key.trim() : undefined;
}

/** Our own web UI (served at /) calls us with Origin equal to the Host it loaded from. */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const sep = origin.indexOf('://');
  if (sep === -1) return false;
  const scheme = origin.slice(0, sep);
  return (scheme === 'http' || scheme === 'https') && origin.slice(sep + 3) === host.toLowerCase();
}

/** A page loaded from a file (the Electron window) or sandboxed: it has no origin of its own. */
function isLocalPageOrigin(origin: string): boolean {
  return origin === 'null' || origin === 'file://';
}

function setCorsHeaders(res: http.ServerResponse, allowOrigin: string): void {
  res.setHeader('access-control-allow-origin', allowOrigin);
  res.setHeader('access-control-expose-headers', 'retry-after');
  res.setHeader('vary', 'Origin');
}

function originRefused(origin: string, surface: Surface): ApiError {
  const hint = surface === 'v1' ? 'add it to program.cors_origins (or "*" for any site)' : 'add it to program.cors_origins ("*" does not cover /api)';
  return new ApiError(403, 'origin_not_allowed', `requests from web pages at ${clip(origin)} are refused; if that page is yours, ${hint}`);
}

function deny(res: http.ServerResponse, err: ApiError, challenge = false): false {
  if (!res.headersSent && !res.destroyed) {
    const text = JSON.stringify(errorBody(err.message, err.type, err.code));
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
    if (challenge) headers['www-authenticate'] = 'Bearer realm="llm-manager"';
    res.writeHead(err.status, headers);
    res.end(text);
  }
  return false;
}

/** Header values end up in messages: keep them short and printable. */
function clip(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 100 ? `${printable.slice(0, 100)}…` : printable;
}
