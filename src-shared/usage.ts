// Usage & cost through the ManagerApi (GET /api/usage, /api/usage/requests, /api/usage/export.csv,
// DELETE /api/usage): the shapes both transports carry, and the one check of a query's fields.
import { z } from 'zod';

export type UsageGroup = 'hour' | 'day' | 'month';

/** Which requests: [from, to) as epoch ms or ISO times, optionally one model and one client. */
export interface UsageRange {
  /** Default: 24 hours before `to`. */
  from?: number | string;
  /** Default: now. */
  to?: number | string;
}

export interface UsageQuery extends UsageRange {
  model?: string;
  /** An API key's name, or an app's User-Agent product. */
  client?: string;
  /** Bucket size of the series; default from the range (≤ 2 days: hour, ≤ 92 days: day, else month). */
  group?: UsageGroup;
  /** IANA time zone that days and months follow (default: the node's). */
  tz?: string;
}

export interface UsageRequestsQuery extends UsageQuery {
  /** Only failed requests (status 0 or ≥ 400). */
  failed?: boolean | string;
  /** Page size (default 50, at most 500). */
  limit?: number | string;
  /** The `next` of the previous page: requests older than that one. */
  before?: number | string;
}

/** Whether the ledger is recording, and what went wrong when it isn't. */
export interface UsageStatus {
  /** on: recording; off: program.usage is off; unavailable: this Node has no SQLite; error: the database couldn't be opened or written. */
  state: 'on' | 'off' | 'unavailable' | 'error';
  /** Why it is off or failing, or that a damaged / locked file was moved aside. */
  message: string | null;
  /** usage.sqlite's path (null when off). */
  path: string | null;
  /** Where an unusable file was moved (it is kept for the user), when that happened since the start. */
  movedAside: string | null;
  sizeBytes: number | null;
  /** Epoch ms of the oldest request kept. */
  oldest: number | null;
  keepDays: number | null;
  maxMb: number | null;
}

export interface UsageTotals {
  requests: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Completion tokens over generation time, of requests that report a speed; null when none did. */
  tokensPerSecond: number | null;
  avgTotalMs: number | null;
  avgTtftMs: number | null;
  /** At the configured prices; null when no model has a price. */
  cost: number | null;
}

export interface UsageModelRow extends UsageTotals {
  model: string;
  tokenCost: number;
  hourlyCost: number;
  /** Engine running time in the range (ms). */
  engineMs: number;
}

export interface UsageClientRow extends UsageTotals {
  client: string;
}

export interface UsageSeries {
  /** Epoch ms where each bucket starts (every bucket of the range, empty ones too). */
  at: number[];
  requests: number[];
  failed: number[];
  promptTokens: number[];
  completionTokens: number[];
  /** Token and hourly cost of each bucket (zeros when nothing is priced). */
  cost: number[];
  /** Per model: tokens/s in each bucket (null where it generated nothing with a known speed). */
  tokensPerSecond: { model: string; values: (number | null)[] }[];
}

export interface UsageMonth {
  /** "2025-03" in the report's time zone. */
  month: string;
  start: number;
  tokenCost: number;
  hourlyCost: number;
  requests: number;
}

export interface UsageReport {
  status: UsageStatus;
  from: number;
  to: number;
  group: UsageGroup;
  tz: string;
  currency: string;
  /** Whether any model has a price (else costs are null / zero). */
  priced: boolean;
  totals: UsageTotals;
  series: UsageSeries;
  models: UsageModelRow[];
  clients: UsageClientRow[];
  /** Cost per calendar month, of the part of each month inside the range. */
  months: UsageMonth[];
  /** Every model and client seen in the range (for the filters). */
  modelNames: string[];
  clientNames: string[];
}

/** One /v1 request as the router saw it (core/usage/record.ts), numbered by the ledger. */
export interface UsageRequest {
  id: number;
  /** Epoch ms when the request's first byte arrived. */
  startedAt: number;
  /** The configured model's name ('' when no model matched: 400/404 before routing). */
  model: string;
  /** The name the client asked for (an alias, or the model name itself). */
  requested: string;
  /** '/v1/chat/completions', '/v1/embeddings', … */
  endpoint: string;
  /** HTTP status the client got (0 when the client went away before an answer began). */
  status: number;
  /** The OpenAI-shaped error code when we answered with an error ('engine_died', …), else null. */
  errorCode: string | null;
  /** The API key's name when keys are used, else the User-Agent's product ('openai-python'), else ''. */
  client: string;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  /** Ms from the request's first byte to the answer's first body byte (first token when streamed). */
  ttftMs: number | null;
  /** Ms from the request's first byte to the answer's end. */
  totalMs: number;
  /** Generation speed: the engine's own timings when it sends them, else completion tokens over generation time. */
  tokensPerSecond: number | null;
  streamed: boolean;
}

export interface UsageRequestsPage {
  requests: UsageRequest[];
  /** Pass as `before` for the next (older) page; null when this was the last. */
  next: number | null;
}

export interface UsageDeleteResult {
  requests: number;
  runs: number;
}

export const USAGE_PAGE_DEFAULT = 50;
export const USAGE_PAGE_MAX = 500;
const DAY = 86_400_000;

/** A request that failed: the client went away (0) or got an error status. */
export function isFailedStatus(status: number): boolean {
  return status === 0 || status >= 400;
}

const time = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds or an ISO time' });
    return z.NEVER;
  }
  return n;
});
const name = z.string().max(256, 'at most 256 characters').regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');
const positive = (max: number) => z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number).pipe(z.int().min(1).max(max));

const querySchema = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  model: name.optional(),
  client: name.optional(),
  group: z.enum(['hour', 'day', 'month'], { error: 'group must be hour, day or month' }).optional(),
  tz: z.string().max(64).optional(),
  failed: flag.optional(),
  limit: positive(USAGE_PAGE_MAX).optional(),
  before: positive(Number.MAX_SAFE_INTEGER).optional(),
});

export interface CheckedUsageQuery {
  from: number;
  to: number;
  model?: string;
  client?: string;
  group: UsageGroup;
  tz: string;
  failed: boolean;
  limit: number;
  before?: number;
}

/** A query's fields checked and defaulted, or the message that says what is wrong (a 400). */
export function checkUsageQuery(raw: unknown, now: number, defaultTz: string): CheckedUsageQuery | string {
  const input = raw === undefined || raw === null ? {} : raw;
  if (typeof input !== 'object' || Array.isArray(input)) return 'expected the query as an object';
  // Empty values (a form's blank filter) mean "not given".
  const cleaned = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== ''));
  const checked = querySchema.safeParse(cleaned);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}; a usage query takes from, to, model, client, group, tz (and failed, limit, before for requests)`;
    return `${issue.path.join('.') || 'query'}: ${issue.message}`;
  }
  const q = checked.data;
  // Exclusive: a request of this very millisecond is in the default range.
  const to = q.to ?? now + 1;
  const from = q.from ?? to - DAY;
  if (from >= to) return 'from must be before to';
  const tz = q.tz ?? defaultTz;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return `tz: unknown time zone "${tz}"`;
  }
  const span = to - from;
  const group: UsageGroup = q.group ?? (span <= 2 * DAY ? 'hour' : span <= 92 * DAY ? 'day' : 'month');
  return {
    from,
    to,
    ...(q.model !== undefined ? { model: q.model } : {}),
    ...(q.client !== undefined ? { client: q.client } : {}),
    group,
    tz,
    failed: q.failed ?? false,
    limit: q.limit ?? USAGE_PAGE_DEFAULT,
    ...(q.before !== undefined ? { before: q.before } : {}),
  };
}
