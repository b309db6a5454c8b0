// /metrics' share of usage: token counters and a request latency histogram per model, kept in
// memory since the node started and fed by the ledger's record() (so they count with usage off too).
import type { UsageRecord } from './record.js';

/** Upper bounds (seconds) of the latency histogram's buckets: a quick embedding to a long answer. */
export const LATENCY_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;

interface ModelCounters {
  prompt: number;
  completion: number;
  cached: number;
  /** Cumulative counts per bucket, +Inf last. */
  buckets: number[];
  count: number;
  sumS: number;
}

export class UsageMetrics {
  private readonly models = new Map<string, ModelCounters>();

  observe(rec: UsageRecord): void {
    let m = this.models.get(rec.model);
    if (!m) this.models.set(rec.model, (m = { prompt: 0, completion: 0, cached: 0, buckets: new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0), count: 0, sumS: 0 }));
    m.prompt += rec.promptTokens ?? 0;
    m.completion += rec.completionTokens ?? 0;
    m.cached += rec.cachedTokens ?? 0;
    const s = rec.totalMs / 1000;
    m.count++;
    m.sumS += s;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && s > LATENCY_BUCKETS_S[i]!) i++;
    m.buckets[i]!++;
  }

  /** The families in Prometheus' text format (appended to /metrics); '' before any request. */
  render(): string {
    if (this.models.size === 0) return '';
    const out: string[] = [];
    const entries = [...this.models.entries()].sort(([a], [b]) => a.localeCompare(b));
    const counter = (name: string, help: string, pick: (m: ModelCounters) => number) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [model, m] of entries) out.push(`${name}{model="${label(model)}"} ${pick(m)}`);
    };
    counter('llm_manager_prompt_tokens_total', 'Prompt tokens of answered requests, as the engine counted them.', (m) => m.prompt);
    counter('llm_manager_completion_tokens_total', 'Completion tokens of answered requests, as the engine counted them.', (m) => m.completion);
    counter('llm_manager_cached_tokens_total', 'Prompt tokens the engine took from its cache.', (m) => m.cached);
    const h = 'llm_manager_request_duration_seconds';
    out.push(`# HELP ${h} /v1 requests from their first byte to the answer's end.`, `# TYPE ${h} histogram`);
    for (const [model, m] of entries) {
      let cumulative = 0;
      LATENCY_BUCKETS_S.forEach((le, i) => {
        cumulative += m.buckets[i]!;
        out.push(`${h}_bucket{model="${label(model)}",le="${le}"} ${cumulative}`);
      });
      out.push(`${h}_bucket{model="${label(model)}",le="+Inf"} ${m.count}`, `${h}_sum{model="${label(model)}"} ${m.sumS}`, `${h}_count{model="${label(model)}"} ${m.count}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
