// The Usage page's one range picker: presets in the viewer's own calendar, and how numbers read.
import type { UsageGroup } from '../../../src-shared/usage.js';

export type RangeId = 'today' | '24h' | '7d' | '30d' | 'month' | '12m';

export const RANGES: readonly { id: RangeId; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: '24h', label: 'Last 24 hours' },
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: 'month', label: 'This month' },
  { id: '12m', label: 'Last 12 months' },
];

export interface Span {
  from: number;
  to: number;
  group: UsageGroup;
}

/** [from, to) of a preset at `now`, in local time; days and months start at local midnight. */
export function spanOf(id: RangeId, now: number): Span {
  const d = new Date(now);
  const midnight = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const hourEnd = Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000;
  switch (id) {
    case 'today':
      return { from: midnight, to: new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime(), group: 'hour' };
    case '24h':
      return { from: hourEnd - 24 * 3_600_000, to: hourEnd, group: 'hour' };
    case '7d':
      return { from: new Date(d.getFullYear(), d.getMonth(), d.getDate() - 6).getTime(), to: new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime(), group: 'day' };
    case '30d':
      return { from: new Date(d.getFullYear(), d.getMonth(), d.getDate() - 29).getTime(), to: new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime(), group: 'day' };
    case 'month':
      return { from: new Date(d.getFullYear(), d.getMonth(), 1).getTime(), to: new Date(d.getFullYear(), d.getMonth() + 1, 1).getTime(), group: 'day' };
    case '12m':
      return { from: new Date(d.getFullYear(), d.getMonth() - 11, 1).getTime(), to: new Date(d.getFullYear(), d.getMonth() + 1, 1).getTime(), group: 'month' };
  }
}

export const viewerTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** 950, 12.3 k, 4.56 M. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) < 1000) return String(Math.round(n));
  if (Math.abs(n) < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} k`;
  if (Math.abs(n) < 1_000_000_000) return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)} M`;
  return `${(n / 1_000_000_000).toFixed(2)} G`;
}

export function formatSpeed(tps: number | null | undefined): string {
  if (tps === null || tps === undefined || !Number.isFinite(tps)) return '—';
  return `${tps >= 100 ? Math.round(tps) : tps.toFixed(1)} tok/s`;
}

/** A cost in the configured currency: ISO codes through Intl ("$1.23"), other labels after the number; small amounts keep their digits. */
export function formatCost(value: number | null | undefined, currency: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const digits = value === 0 ? 2 : Math.abs(value) < 0.01 ? 4 : 2;
  if (/^[A-Z]{3}$/.test(currency)) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
    } catch {
      // not a currency Intl knows: the label as written
    }
  }
  return `${value.toFixed(digits)} ${currency}`;
}

export function formatHours(ms: number): string {
  if (ms <= 0) return '—';
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  const h = ms / 3_600_000;
  return h < 1 ? `${Math.round(ms / 60_000)} m` : `${h.toFixed(h < 10 ? 1 : 0)} h`;
}

/** The label of a bucket that starts at `at`. */
export function bucketLabel(at: number, group: UsageGroup): string {
  const d = new Date(at);
  if (group === 'month') return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short' });
  if (group === 'day') return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
}
