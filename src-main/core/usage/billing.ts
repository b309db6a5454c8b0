// What usage costs at the configured prices: a pure function of the stored records, the engine
// runs and the prices, so a price change re-prices history. Token tiers apply to a model's
// cumulative tokens in the calendar month (a request's prompt tokens count first, then its
// completion tokens; each token is priced by the tier its position falls in); hourly prices apply
// to engine running time, spawn to exit.
import type { ModelPricing, PriceTier } from '../../../src-shared/config.js';
import type { EngineRunRecord } from './record.js';

export type Prices = Readonly<Record<string, ModelPricing | null | undefined>>;

export interface TokenUse {
  at: number;
  model: string;
  prompt: number;
  completion: number;
}

const PER = 1_000_000;
const HOUR_MS = 3_600_000;

/** Start (epoch ms) of the calendar month `at` falls in, in this process's time zone. */
export function localMonthStart(at: number): number {
  const d = new Date(at);
  return new Date(d.getFullYear(), d.getMonth(), 1).getTime();
}

/** The cost of `prompt` then `completion` tokens when `before` tokens were used earlier in the month. */
export function priceTokens(tiers: readonly PriceTier[], before: number, prompt: number, completion: number): number {
  if (tiers.length === 0) return 0;
  return span(tiers, before, prompt, 'inputPer1m') + span(tiers, before + prompt, completion, 'outputPer1m');
}

/** Tokens at positions (start, start + n], each at the rate of the tier its position is in. */
function span(tiers: readonly PriceTier[], start: number, n: number, rate: 'inputPer1m' | 'outputPer1m'): number {
  let cost = 0;
  let position = start;
  let left = n;
  let floor = 0;
  for (const tier of tiers) {
    if (left <= 0) break;
    const ceiling = tier.upToTokens ?? Infinity;
    if (position < ceiling) {
      const here = Math.min(left, ceiling - Math.max(position, floor));
      cost += (here * tier[rate]) / PER;
      position += here;
      left -= here;
    }
    floor = ceiling;
  }
  return cost;
}

/**
 * Prices requests one by one in time order, keeping each model's tokens so far in its month. Feed
 * it every request since the start of the first month of interest (the earlier ones only move the
 * tier position: charge them and drop the result).
 */
export class TokenMeter {
  private readonly used = new Map<string, { month: number; tokens: number }>();

  constructor(
    private readonly prices: Prices,
    private readonly monthStart: (at: number) => number = localMonthStart,
  ) {}

  /** `model` had used `tokens` in the month starting at `month` before the requests to be charged. */
  seed(model: string, month: number, tokens: number): void {
    this.used.set(model, { month, tokens });
  }

  charge(use: TokenUse): number {
    const tiers = this.prices[use.model]?.tiers;
    if (!tiers || tiers.length === 0) return 0;
    const month = this.monthStart(use.at);
    let state = this.used.get(use.model);
    if (!state || state.month !== month) this.used.set(use.model, (state = { month, tokens: 0 }));
    const cost = priceTokens(tiers, state.tokens, use.prompt, use.completion);
    state.tokens += use.prompt + use.completion;
    return cost;
  }
}

/** Ms of the run inside [from, to); a run still going counts up to `now`. */
export function runMsWithin(run: Pick<EngineRunRecord, 'startedAt' | 'stoppedAt'>, from: number, to: number, now: number): number {
  const end = Math.min(run.stoppedAt ?? now, to);
  return Math.max(0, end - Math.max(run.startedAt, from));
}

export function hourlyCost(rate: number, ms: number): number {
  return (rate * ms) / HOUR_MS;
}

export interface ModelBill {
  model: string;
  tokenCost: number;
  hourlyCost: number;
  /** Engine running time in the range (ms). */
  runMs: number;
}

/**
 * Each priced model's cost in [from, to): `uses` are every request since the start of the month
 * `from` is in (sorted by time); `runs` the engine runs overlapping the range.
 */
export function bill(input: {
  uses: Iterable<TokenUse>;
  runs: Iterable<Pick<EngineRunRecord, 'model' | 'startedAt' | 'stoppedAt'>>;
  prices: Prices;
  from: number;
  to: number;
  now: number;
  monthStart?: (at: number) => number;
}): ModelBill[] {
  const meter = new TokenMeter(input.prices, input.monthStart);
  const bills = new Map<string, ModelBill>();
  const of = (model: string) => {
    let b = bills.get(model);
    if (!b) bills.set(model, (b = { model, tokenCost: 0, hourlyCost: 0, runMs: 0 }));
    return b;
  };
  for (const use of input.uses) {
    if (use.at >= input.to) break;
    const cost = meter.charge(use);
    if (use.at >= input.from && cost > 0) of(use.model).tokenCost += cost;
  }
  for (const run of input.runs) {
    const rate = input.prices[run.model]?.hourly;
    if (rate === null || rate === undefined) continue;
    const ms = runMsWithin(run, input.from, input.to, input.now);
    if (ms === 0) continue;
    const b = of(run.model);
    b.runMs += ms;
    b.hourlyCost += hourlyCost(rate, ms);
  }
  return [...bills.values()].sort((a, b) => a.model.localeCompare(b.model));
}
