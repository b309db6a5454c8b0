// Which ManagerApi the window talks to: the Electron preload's (IPC) when present, else HTTP on
// the origin the page was served from (the router serves this UI at /).
import type { ManagerApi } from '../../src-shared/contract.js';
import { withRevivedErrors } from '../../src-shared/serialized-error.js';
import type {} from '../../src-shared/window-api.js';
import { createStore } from '../lib/store.js';
import { authHeaders, noteUnauthorized } from './auth.js';
import { createHttpManagerApi } from './http-client.js';

export type Transport = 'ipc' | 'http';

/** Whether live events are flowing (always true over IPC). */
export const eventsConnected = createStore<boolean>(true);

/**
 * Whether the node answers: false once a request or the event stream couldn't reach it, true again
 * at its next answer. Always true over IPC (the node runs in the app itself).
 */
export const nodeReachable = createStore<boolean>(true);

function pick(): { api: ManagerApi; transport: Transport } {
  // IPC rejects with plain data (contextBridge keeps nothing else): revive ApiErrors as HTTP does.
  if (window.llmManager) return { api: withRevivedErrors(window.llmManager), transport: 'ipc' };
  eventsConnected.set(false);
  const api = createHttpManagerApi(window.location.origin, {
    onConnectionChange: (c) => eventsConnected.set(c),
    onReachableChange: (r) => nodeReachable.set(r),
    headers: authHeaders,
    onUnauthorized: noteUnauthorized,
  });
  return { api, transport: 'http' };
}

const chosen = pick();
export const manager: ManagerApi = chosen.api;
export const transport: Transport = chosen.transport;

/**
 * Base URL for OpenAI requests made by the window itself (the Chat page): in a browser the page's
 * own origin (the router served it, and the content policy allows only that); in Electron the
 * endpoint the node reports.
 */
export async function openAiBase(): Promise<string> {
  if (transport === 'http') return window.location.origin;
  const health = await manager.health();
  return health.endpoint.replace(/\/v1\/?$/, '');
}
