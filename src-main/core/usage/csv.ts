// GET /api/usage/export.csv: one line per request, oldest first, RFC 4180 quoting. Never a key:
// the client column holds a key's name.
import type { UsageRequest } from '../../../src-shared/usage.js';

const COLUMNS: readonly [string, (r: UsageRequest) => string | number | boolean | null][] = [
  ['id', (r) => r.id],
  ['started_at', (r) => new Date(r.startedAt).toISOString()],
  ['model', (r) => r.model],
  ['requested', (r) => r.requested],
  ['endpoint', (r) => r.endpoint],
  ['status', (r) => r.status],
  ['error_code', (r) => r.errorCode],
  ['client', (r) => r.client],
  ['prompt_tokens', (r) => r.promptTokens],
  ['completion_tokens', (r) => r.completionTokens],
  ['cached_tokens', (r) => r.cachedTokens],
  ['ttft_ms', (r) => round(r.ttftMs)],
  ['total_ms', (r) => round(r.totalMs)],
  ['tokens_per_second', (r) => round(r.tokensPerSecond)],
  ['streamed', (r) => r.streamed],
];

function round(n: number | null): number | null {
  return n === null ? null : Math.round(n * 100) / 100;
}

function cell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  // A leading = + - @ would be a formula to a spreadsheet: quoted with a ' in front.
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) || safe !== text ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function requestsCsv(rows: Iterable<UsageRequest>): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const row of rows) lines.push(COLUMNS.map(([, pick]) => cell(pick(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
