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

export interface HttpClientOptions {
  /** Told when the live event stream connects (true) or drops (false); it reconnects by itself. */
  onConnectionChange?: (connected: boolean) => void;
}

type CallMethods = { [K in keyof typeof managerRoutes]: ManagerApi[K] };

const EVENT_TYPES: readonly ManagerEvent['type'][] = ['model', 'log', 'devices', 'config'];
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

export function createHttpManagerApi(baseUrl: string, options: HttpClientOptions = {}): ManagerApi {
  const base = baseUrl.replace(/\/+$/, '');

  const call = async (spec: RouteSpec, args: readonly unknown[]): Promise<unknown> => {
    let path = spec.path;
    const query = new URLSearchParams();
    let body: string | undefined;
    spec.args.forEach((arg, i) => {
      const value = args[i];
      if (arg === 'name') path = path.replace(':name', encodeURIComponent(String(value)));
      else if (arg === 'tail' && value !== undefined) query.set('tail', String(value));
      else if (arg === 'text') body = JSON.stringify({ text: value });
    });
    const qs = query.toString();
    const url = `${base}${path}${qs ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: spec.method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
      });
    } catch {
      throw new ApiError(0, 'unreachable', `Can't reach LLM Manager at ${base}. Is it still running?`, 'service_unavailable');
    }
    const parsed: unknown = await res.json().catch(() => null);
    if (!res.ok) throw apiErrorFromBody(res.status, parsed);
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
      return subscribeEvents(`${base}${EVENTS_PATH}`, listener, options.onConnectionChange);
    },
  } satisfies ManagerApi;
}

/**
 * One EventSource on /api/events. The browser retries a dropped stream by itself; when it gives
 * up (readyState CLOSED, e.g. the node was restarted and answered an error) we open a new one.
 */
function subscribeEvents(url: string, listener: (event: ManagerEvent) => void, onConnection?: (connected: boolean) => void): () => void {
  let source: EventSource | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let delay = RECONNECT_MIN_MS;
  let closed = false;

  const onMessage = (message: MessageEvent<string>) => {
    let event: ManagerEvent;
    try {
      event = JSON.parse(message.data) as ManagerEvent;
    } catch {
      return;
    }
    listener(event);
  };

  const open = () => {
    if (closed) return;
    const es = new EventSource(url);
    source = es;
    for (const type of EVENT_TYPES) es.addEventListener(type, onMessage);
    es.onopen = () => {
      delay = RECONNECT_MIN_MS;
      onConnection?.(true);
    };
    es.onerror = () => {
      onConnection?.(false);
      if (es.readyState === EventSource.CLOSED && !closed) {
        es.close();
        retryTimer = setTimeout(open, delay);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    };
  };
  open();

  return () => {
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    source?.close();
  };
}
