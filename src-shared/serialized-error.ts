// An error as plain data, for transports that keep nothing else: Electron's ipcMain.handle passes
// on only an Error's message, and contextBridge does the same for errors crossing into the page.
// The main process sends this shape; the window turns it back into an ApiError.
import { managerRoutes, type ManagerApi, type ManagerCallName } from './contract.js';
import { ApiError, typeForStatus, type OpenAIErrorType } from './errors.js';

export interface SerializedError {
  name: string;
  message: string;
  status: number;
  code: string;
  type: OpenAIErrorType;
}

/** Any thrown value → plain data; an ApiError keeps its status and code, anything else is a 500. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof ApiError) return { name: 'ApiError', message: err.message, status: err.status, code: err.code, type: err.type };
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unexpected error';
  return { name: err instanceof Error ? err.name : 'Error', message, status: 500, code: 'internal_error', type: 'server_error' };
}

export function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['message'] === 'string' && typeof v['status'] === 'number' && typeof v['code'] === 'string';
}

/** What a failed call rejected with (a SerializedError, an Error, anything) → an ApiError. */
export function reviveError(value: unknown): ApiError {
  if (value instanceof ApiError) return value;
  if (isSerializedError(value)) {
    const type = typeof value.type === 'string' ? value.type : typeForStatus(value.status);
    return new ApiError(value.status, value.code, value.message, type);
  }
  const message = value instanceof Error ? value.message : typeof value === 'string' ? value : 'unexpected error';
  return new ApiError(500, 'internal_error', message, 'server_error');
}

/**
 * The window's side of the IPC transport: the same api, with each failed call's SerializedError
 * revived as an ApiError (`instanceof Error`, with status and code), as the HTTP client throws.
 */
export function withRevivedErrors(api: ManagerApi): ManagerApi {
  const calls = Object.fromEntries(
    (Object.keys(managerRoutes) as ManagerCallName[]).map((name) => {
      const call = api[name] as (...args: unknown[]) => Promise<unknown>;
      return [name, (...args: unknown[]) => call(...args).catch((err: unknown) => Promise.reject(reviveError(err)))];
    }),
  ) as Omit<ManagerApi, 'subscribe'>;
  return { ...calls, subscribe: (listener) => api.subscribe(listener) };
}
