// OpenAI-shaped error bodies: every /v1 failure answers {"error":{"message","type","code"}}.

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable'
  | 'upstream_error';

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: OpenAIErrorType;
    code: string;
    param?: string | null;
  };
}

/** An error that knows the HTTP status and OpenAI code it should be answered with. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: OpenAIErrorType = typeForStatus(status),
    /** Seconds a client should wait before retrying (sent as Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): OpenAIErrorBody {
    return errorBody(this.message, this.type, this.code);
  }
}

export function errorBody(message: string, type: OpenAIErrorType, code: string): OpenAIErrorBody {
  return { error: { message, type, code } };
}

export function typeForStatus(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 502) return 'upstream_error';
  if (status === 503) return 'service_unavailable';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Rebuilds an ApiError from a body that crossed a transport (HTTP or IPC). */
export function apiErrorFromBody(status: number, body: unknown): ApiError {
  const err = (body as Partial<OpenAIErrorBody> | null)?.error;
  if (err && typeof err.message === 'string') {
    return new ApiError(status, String(err.code ?? status), err.message, err.type ?? typeForStatus(status));
  }
  return new ApiError(status, String(status), `request failed with status ${status}`);
}
