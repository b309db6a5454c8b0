// Durations in config.yaml: a bare number in the field's own unit, or a string with a unit ("90s", "15m").

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i;

/** Milliseconds for `value`, where a unitless value counts in `defaultUnit`; null when unreadable. */
export function parseDuration(value: unknown, defaultUnit: 'ms' | 's' | 'm' | 'h'): number | null {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * UNIT_MS[defaultUnit]!) : null;
  }
  if (typeof value !== 'string') return null;
  const match = DURATION_RE.exec(value);
  if (!match) return null;
  const unit = (match[2] ?? defaultUnit).toLowerCase();
  return Math.round(Number(match[1]) * UNIT_MS[unit]!);
}

/** "3 m 20 s"-style text for durations shown to people. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} m` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} m ${s} s` : `${m} m`;
  return `${s} s`;
}
