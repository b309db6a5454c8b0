// Numbers as people read them: "7.9 GB", "3 m 20 s", "stops in 12 m".
import { formatDuration } from '../../src-shared/duration.js';

export { formatDuration };

export const DASH = '—';

export function formatMb(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !Number.isFinite(mb)) return DASH;
  if (mb >= 1024) {
    const gb = mb / 1024;
    return `${gb >= 100 ? Math.round(gb) : gb.toFixed(1)} GB`;
  }
  return `${Math.round(mb)} MB`;
}

export function formatPct(pct: number | null | undefined): string {
  return pct === null || pct === undefined ? DASH : `${Math.round(pct)} %`;
}

export function formatTemp(c: number | null | undefined): string {
  return c === null || c === undefined ? DASH : `${Math.round(c)} °C`;
}

export function formatWatts(w: number | null | undefined): string {
  return w === null || w === undefined ? DASH : `${Math.round(w)} W`;
}

/**
 * For counters that tick ("Starting 12 s", then "Starting 1:05"): seconds while short, then a clock,
 * which stays narrow enough for the state column of the Models table.
 */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const two = (n: number) => String(n).padStart(2, '0');
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}:${two(s % 60)}`;
  return `${Math.floor(m / 60)}:${two(m % 60)}:${two(s % 60)}`;
}

/** Time left, rounded to what matters: "45 s", "90 s", "12 m", "2 h 5 m" (seconds under 2 minutes: "2 m" for 90 s misleads). */
export function formatRemaining(ms: number): string {
  if (ms <= 0) return 'now';
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} m`;
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} m` : ''}`;
}

export function formatClock(ts: number | string | null): string {
  if (ts === null) return DASH;
  const d = new Date(ts);
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function formatDateTime(ts: string | null): string {
  if (ts === null) return DASH;
  return new Date(ts).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium', hour12: false });
}

export function formatRate(tokens: number, ms: number): string {
  if (ms <= 0 || tokens <= 0) return DASH;
  const rate = (tokens * 1000) / ms;
  return `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)} tok/s`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return DASH;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
