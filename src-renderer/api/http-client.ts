// ManagerApi over HTTP + SSE, generated from the shared route table: a method added to the
// contract without a route in `managerRoutes` leaves this object short of ManagerApi (compile error).
import {
  EVENTS_PATH,
  managerRoutes,
  type ManagerApi,
  type ManagerCallName,
  type ManagerEvent,
  type RouteSpec,
} from '../../src-shared/contract.js';
import { ApiError, apiErrorFromBody } from '../../src-shared/errors.js';
import { readSse, type SseMessage } from '../lib/sse.js';

export interface HttpClientOptions {
  /** Told when the live event stream connects (true) or drops (false); it reconnects by itself. */
  onConnectionChange?: (connected: boolean) => void;
  /** Told whether the node answered the last request (or event stream connect): false when it couldn't be reached. */
  onReachableChange?: (reachable: boolean) => void;
  /** Headers added to every request (the API key). */
  headers?: () => Record<string, string>;
  /** A request was refused with 401; the event stream passes `retry`, to be called once a key is known. */
  onUnauthorized?: (err: ApiError, retry?: () => void) => void;
}

type CallMethods = { [K in keyof typeof managerRoutes]: ManagerApi[K] };

const EVENT_TYPES: readonly ManagerEvent['type'][] = ['model', 'log', 'devices', 'config', 'hold', 'download'];
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

export function createHttpManagerApi(baseUrl: string, options: HttpClientOptions = {}): ManagerApi {
  const base = baseUrl.replace(/\/+$/, '');
  const extraHeaders = options.headers ?? (() => ({}));
  // Event streams waiting to reconnect: a request that reaches the node again wakes them at once.
  const waiting = new Set<() => void>();
  let reachable = true;
  const setReachable = (ok: boolean) => {
    if (ok === reachable) return;
    reachable = ok;
    options.onReachableChange?.(ok);
    if (ok) for (const wake of [...waiting]) wake();
  };

  const call = async (spec: RouteSpec, args: readonly unknown[]): Promise<unknown> => {
    let path = spec.path;
    const query = new URLSearchParams();
    let fields: unknown;
    spec.args.forEach((arg, i) => {
      const value = args[i];
      if (arg === 'name') path = path.replace(':name', encodeURIComponent(String(value)));
      else if (arg === 'backupId' || arg === 'downloadId') path = path.replace(':id', encodeURIComponent(String(value)));
      else if (arg === 'body') fields = value;
      else if (arg === 'removeOptions' && value !== undefined) {
        const deleteFiles = (value as { deleteFiles?: unknown }).deleteFiles;
        if (deleteFiles !== undefined) query.set('delete_files', String(deleteFiles));
      }
      else if (arg === 'tail' && value !== undefined) query.set('tail', String(value));
      else if (arg === 'query' && value !== undefined && value !== null) {
        for (const [key, field] of Object.entries(value as Record<string, unknown>)) if (field !== undefined && field !== null) query.set(key, String(field));
      }
      else if (arg === 'text') fields = { ...(fields as object), text: value };
      else if (arg === 'saveOptions' && value !== undefined) {
        const confirm = (value as { confirmRemoveAll?: unknown }).confirmRemoveAll;
        if (confirm !== undefined) fields = { ...(fields as object), confirm_remove_all: confirm };
      }
    });
    const body = fields === undefined ? undefined : JSON.stringify(fields);
    const qs = query.toString();
    const url = `${base}${path}${qs ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: spec.method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extraHeaders() },
        ...(body === undefined ? {} : { body }),
      });
    } catch {
      setReachable(false);
      throw new ApiError(0, 'unreachable', `Can't reach LLM Manager at ${base}. Is it still running?`, 'service_unavailable');
    }
    setReachable(true);
    if (res.ok && 'produces' in spec && spec.produces === 'text/csv') return res.text();
    const parsed: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const err = apiErrorFromBody(res.status, parsed);
      if (res.status === 401) options.onUnauthorized?.(err);
      throw err;
    }
    return parsed;
  };

  const calls = Object.fromEntries(
    (Object.keys(managerRoutes) as ManagerCallName[]).map((name) => {
      const spec: RouteSpec = managerRoutes[name];
      return [name, (...args: unknown[]) => call(spec, args)];
    }),
  ) as CallMethods;

  return {
    ...calls,
    subscribe(listener) {
      return subscribeEvents(`${base}${EVENTS_PATH}`, listener, { ...options, headers: extraHeaders, setReachable, waiting });
    },
  } satisfies ManagerApi;
}

/**
 * /api/events read with fetch (EventSource can't send the key): reconnects with a growing delay
 * after a drop, and waits for a key after a 401 instead of retrying.
 */
function subscribeEvents(
  url: string,
  listener: (event: ManagerEvent) => void,
  options: Pick<HttpClientOptions, 'onConnectionChange' | 'onUnauthorized'> & {
    headers: () => Record<string, string>;
    setReachable: (reachable: boolean) => void;
    waiting: Set<() => void>;
  },
): () => void {
  const abort = new AbortController();
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let delay = RECONNECT_MIN_MS;

  const onMessage = (message: SseMessage) => {
    if (!EVENT_TYPES.includes(message.event as ManagerEvent['type'])) return;
    let event: ManagerEvent;
    try {
      event = JSON.parse(message.data) as ManagerEvent;
    } catch {
      return;
    }
    listener(event);
  };

  const retryNow = () => {
    if (!retryTimer) return;
    clearTimeout(retryTimer);
    void open();
  };
  const open = async () => {
    retryTimer = null;
    options.waiting.delete(retryNow);
    let connected = false;
    try {
      let res: Response;
      try {
        res = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers() }, cache: 'no-store', signal: abort.signal });
      } catch (err) {
        if (!abort.signal.aborted) options.setReachable(false);
        throw err;
      }
      options.setReachable(true);
      if (res.status === 401) {
        const err = apiErrorFromBody(401, await res.json().catch(() => null));
        options.onUnauthorized?.(err, () => void open());
        return;
      }
      if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
      connected = true;
      delay = RECONNECT_MIN_MS;
      options.onConnectionChange?.(true);
      await readSse(res.body, onMessage);
    } catch {
      // dropped or unreachable: retried below
    }
    if (abort.signal.aborted) return;
    options.onConnectionChange?.(false);
    retryTimer = setTimeout(() => void open(), connected ? RECONNECT_MIN_MS : delay);
    options.waiting.add(retryNow);
    if (!connected) delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  };
  void open();

  return () => {
    abort.abort();
    options.waiting.delete(retryNow);
    if (retryTimer) clearTimeout(retryTimer);
  };
}
