// GET /api/usage: totals, series, per-model and per-client tables and cost per month, summed from
// the store's 15-minute slices (every real time zone's offset is a multiple of 15 minutes, so
// hours, days and months of any zone are whole slices), with costs from billing.ts.
import type { ModelPricing } from '../../../src-shared/config.js';
import type { CheckedUsageQuery, UsageClientRow, UsageModelRow, UsageMonth, UsageReport, UsageStatus, UsageTotals } from '../../../src-shared/usage.js';
import { hourlyCost, localMonthStart, runMsWithin, TokenMeter } from './billing.js';
import { SLICE_MS, type SliceRow, type UsageStore } from './store.js';

/** A slice's counters summed over slices, with their cost. */
type Sums = Omit<SliceRow, 'slice' | 'model' | 'client'> & { cost: number };

const zero = (): Sums => ({ requests: 0, failed: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, genTokens: 0, genSeconds: 0, totalMs: 0, ttftMs: 0, ttftCount: 0, cost: 0 });

function add(into: Sums, row: SliceRow): void {
  into.requests += row.requests;
  into.failed += row.failed;
  into.promptTokens += row.promptTokens;
  into.completionTokens += row.completionTokens;
  into.cachedTokens += row.cachedTokens;
  into.genTokens += row.genTokens;
  into.genSeconds += row.genSeconds;
  into.totalMs += row.totalMs;
  into.ttftMs += row.ttftMs;
  into.ttftCount += row.ttftCount;
}

function totals(s: Sums, priced: boolean): UsageTotals {
  return {
    requests: s.requests,
    failed: s.failed,
    promptTokens: s.promptTokens,
    completionTokens: s.completionTokens,
    cachedTokens: s.cachedTokens,
    tokensPerSecond: s.genSeconds > 0 ? s.genTokens / s.genSeconds : null,
    avgTotalMs: s.requests > 0 ? s.totalMs / s.requests : null,
    avgTtftMs: s.ttftCount > 0 ? s.ttftMs / s.ttftCount : null,
    cost: priced ? s.cost : null,
  };
}

/** A formatter per zone (made once: they are slow to make, and formatting is the slow part). */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at `at` (ms): what its wall clock reads minus UTC. */
function offsetAt(at: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) formatters.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' })));
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const minute = Math.floor(at / 60_000) * 60_000;
  return Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!) - minute;
}

/**
 * The zone's offsets over [from, to) as runs of [start, offset]: read once a day, and where two
 * days differ (a DST change), the change found to the slice by bisection — a few hundred
 * formatter calls for a year instead of one per slice.
 */
function offsetRuns(from: number, to: number, tz: string): [number, number][] {
  const DAY_MS = 86_400_000;
  const runs: [number, number][] = [[from, offsetAt(from, tz)]];
  for (let t = from; t < to; t += DAY_MS) {
    const next = Math.min(t + DAY_MS, to);
    const a = runs[runs.length - 1]![1];
    const b = offsetAt(next, tz);
    if (a === b) continue;
    let lo = t;
    let hi = next;
    while (hi - lo > SLICE_MS) {
      const mid = lo + Math.floor((hi - lo) / 2 / SLICE_MS) * SLICE_MS || lo + SLICE_MS;
      if (offsetAt(mid, tz) === a) lo = mid;
      else hi = mid;
    }
    runs.push([hi, b]);
  }
  return runs;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Buckets of [from, to): where each starts, and the slice → bucket index map. */
export function buckets(from: number, to: number, group: CheckedUsageQuery['group'], tz: string): { at: number[]; index: (at: number) => number; keys: string[] } {
  const at: number[] = [];
  const keys: string[] = [];
  const bySlice = new Map<number, number>();
  const runs = offsetRuns(from, to, tz);
  let run = 0;
  let last = '';
  const first = Math.floor(from / SLICE_MS);
  const end = Math.ceil(to / SLICE_MS);
  for (let slice = first; slice < end; slice++) {
    const t = Math.max(slice * SLICE_MS, from);
    while (run + 1 < runs.length && runs[run + 1]![0] <= t) run++;
    const w = new Date(t + runs[run]![1]);
    const day = `${w.getUTCFullYear()}-${pad(w.getUTCMonth() + 1)}`;
    const key = group === 'month' ? day : group === 'day' ? `${day}-${pad(w.getUTCDate())}` : `${day}-${pad(w.getUTCDate())}T${pad(w.getUTCHours())}`;
    if (key !== last) {
      at.push(t);
      keys.push(key);
      last = key;
    }
    bySlice.set(slice, at.length - 1);
  }
  return { at, keys, index: (t) => bySlice.get(Math.floor(t / SLICE_MS)) ?? -1 };
}

export interface ReportInput {
  store: UsageStore;
  query: CheckedUsageQuery;
  status: UsageStatus;
  currency: string;
  prices: Readonly<Record<string, ModelPricing | null | undefined>>;
  now: number;
  /** Where billing months start (the node's own calendar). */
  monthStart?: (at: number) => number;
}

export function buildReport(input: ReportInput): UsageReport {
  const { store, query, now } = input;
  const { from, to } = query;
  const priced = Object.values(input.prices).some((p) => p && (p.tiers.length > 0 || p.hourly !== null));
  const filter = { from, to, model: query.model, client: query.client };
  const b = buckets(from, to, query.group, query.tz);
  const n = b.at.length;
  const series = { at: b.at, requests: new Array<number>(n).fill(0), failed: new Array<number>(n).fill(0), promptTokens: new Array<number>(n).fill(0), completionTokens: new Array<number>(n).fill(0), cost: new Array<number>(n).fill(0) };
  const speed = new Map<string, { tokens: number[]; seconds: number[] }>();
  const all = zero();
  const models = new Map<string, Sums & { tokenCost: number; hourlyCost: number; engineMs: number }>();
  const clients = new Map<string, Sums>();
  const monthKeys = query.group === 'month' ? b : buckets(from, to, 'month', query.tz);
  const months: UsageMonth[] = monthKeys.at.map((start, i) => ({ month: monthKeys.keys[i]!, start, tokenCost: 0, hourlyCost: 0, requests: 0 }));
  const modelOf = (name: string) => {
    let m = models.get(name);
    if (!m) models.set(name, (m = { ...zero(), tokenCost: 0, hourlyCost: 0, engineMs: 0 }));
    return m;
  };
  const clientOf = (name: string) => {
    let c = clients.get(name);
    if (!c) clients.set(name, (c = zero()));
    return c;
  };

  for (const row of store.slices(filter)) {
    const i = b.index(row.slice * SLICE_MS);
    add(all, row);
    add(modelOf(row.model), row);
    add(clientOf(row.client), row);
    const month = monthKeys.index(row.slice * SLICE_MS);
    if (month >= 0) months[month]!.requests += row.requests;
    if (i < 0) continue;
    series.requests[i]! += row.requests;
    series.failed[i]! += row.failed;
    series.promptTokens[i]! += row.promptTokens;
    series.completionTokens[i]! += row.completionTokens;
    if (row.genSeconds > 0 && row.model !== '') {
      let s = speed.get(row.model);
      if (!s) speed.set(row.model, (s = { tokens: new Array<number>(n).fill(0), seconds: new Array<number>(n).fill(0) }));
      s.tokens[i]! += row.genTokens;
      s.seconds[i]! += row.genSeconds;
    }
  }

  // Token tiers: every request of a priced model since its billing month began moves the tier
  // position. Those before the range only move it: SQLite sums them (a report of today late in a
  // busy month would otherwise read the month's every request); those in it are priced one by one.
  const monthStart = input.monthStart ?? localMonthStart;
  const tokenModels = Object.entries(input.prices).flatMap(([name, p]) => (p && p.tiers.length > 0 && (query.model === undefined || query.model === name) ? [name] : []));
  const meter = new TokenMeter(input.prices, monthStart);
  const firstMonth = monthStart(from);
  for (const { model, tokens } of store.tokenSums(tokenModels, firstMonth, from)) meter.seed(model, firstMonth, tokens);
  for (const use of store.tokens(tokenModels, from, to)) {
    const cost = meter.charge(use);
    if (cost === 0 || (query.client !== undefined && use.client !== query.client)) continue;
    all.cost += cost;
    const m = modelOf(use.model);
    m.cost += cost;
    m.tokenCost += cost;
    clientOf(use.client).cost += cost;
    const i = b.index(use.at);
    if (i >= 0) series.cost[i]! += cost;
    const month = monthKeys.index(use.at);
    if (month >= 0) months[month]!.tokenCost += cost;
  }

  // Hourly: engine time isn't any one client's, so a client filter leaves it out.
  if (query.client === undefined) {
    for (const run of store.runs(from, to)) {
      if (query.model !== undefined && run.model !== query.model) continue;
      const rate = input.prices[run.model]?.hourly ?? null;
      const m = modelOf(run.model);
      const ms = runMsWithin(run, from, to, now);
      m.engineMs += ms;
      if (rate === null || ms === 0) continue;
      const cost = hourlyCost(rate, ms);
      all.cost += cost;
      m.cost += cost;
      m.hourlyCost += cost;
      spread(run, from, to, now, b.at, (i, part) => (series.cost[i]! += hourlyCost(rate, part)));
      spread(run, from, to, now, monthKeys.at, (i, part) => (months[i]!.hourlyCost += hourlyCost(rate, part)));
    }
  }

  const byName = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b2]) => a.localeCompare(b2));
  const modelRows: UsageModelRow[] = byName(models)
    .filter(([name]) => name !== '')
    .map(([model, s]) => ({ model, ...totals(s, priced), tokenCost: s.tokenCost, hourlyCost: s.hourlyCost, engineMs: s.engineMs }));
  // Requests that matched no model (a 404) still count, under "".
  const unmatched = models.get('');
  if (unmatched) modelRows.push({ model: '', ...totals(unmatched, priced), tokenCost: 0, hourlyCost: 0, engineMs: 0 });
  const clientRows: UsageClientRow[] = byName(clients).map(([client, s]) => ({ client, ...totals(s, priced) }));
  return {
    status: input.status,
    from,
    to,
    group: query.group,
    tz: query.tz,
    currency: input.currency,
    priced,
    totals: totals(all, priced),
    series: {
      ...series,
      tokensPerSecond: [...speed.entries()].sort(([a], [c]) => a.localeCompare(c)).map(([model, s]) => ({ model, values: s.tokens.map((t, i) => (s.seconds[i]! > 0 ? t / s.seconds[i]! : null)) })),
    },
    models: modelRows,
    clients: clientRows,
    months,
    modelNames: modelRows.map((m) => m.model).filter((m) => m !== ''),
    clientNames: clientRows.map((c) => c.client),
  };
}

/** Calls `each(bucket, ms)` for the part of the run inside each bucket (bucket i ends where i + 1 starts; the last at `to`). */
function spread(run: { startedAt: number; stoppedAt: number | null }, from: number, to: number, now: number, starts: readonly number[], each: (i: number, ms: number) => void): void {
  for (let i = 0; i < starts.length; i++) {
    const ms = runMsWithin(run, Math.max(starts[i]!, from), i + 1 < starts.length ? starts[i + 1]! : to, now);
    if (ms > 0) each(i, ms);
  }
}
