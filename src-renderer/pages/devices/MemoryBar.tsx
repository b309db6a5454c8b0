// A horizontal bar split into what holds the memory: each engine a coloured segment, other
// processes hatched, free space plain. Also used for CPU load (one "used" segment).
import { formatMb } from '../../lib/format.js';
import type { BarSegment } from './segments.js';

export type { BarSegment };

interface MemoryBarProps {
  segments: BarSegment[];
  total: number;
  /** How a value reads: megabytes by default, or percent for CPU load. */
  format?: (value: number) => string;
  freeLabel?: string;
  label: string;
  /** "used / total" at the end of the legend (pointless for a load in percent). */
  showTotal?: boolean;
}

export function MemoryBar({ segments, total, format = formatMb, freeLabel = 'free', label, showTotal = true }: MemoryBarProps) {
  const drawn = segments.filter((s) => s.inBar !== false);
  const used = drawn.reduce((sum, s) => sum + s.value, 0);
  const free = Math.max(0, total - used);
  const pct = (v: number) => (total > 0 ? `${Math.min(100, (v / total) * 100)}%` : '0%');
  const text = (s: BarSegment) => s.text ?? format(s.value);
  const summary = `${label}: ${segments.map((s) => `${s.label} ${text(s)}`).join(', ')}${segments.length ? ', ' : ''}${format(free)} ${freeLabel} of ${format(total)}`;
  return (
    <div className="membar-wrap">
      <div className="membar" role="img" aria-label={summary}>
        {drawn
          .filter((s) => s.value > 0)
          .map((s) => (
            <span key={s.key} className={`membar-seg seg-${s.kind}${s.slot !== undefined ? ` slot-${s.slot}` : ''}`} style={{ width: pct(s.value) }} title={`${s.label}: ${format(s.value)}`} />
          ))}
      </div>
      <ul className="legend">
        {segments.map((s) => (
          <li key={s.key}>
            <span className={`swatch seg-${s.kind}${s.slot !== undefined ? ` slot-${s.slot}` : ''}`} aria-hidden="true" />
            <span>{s.label}</span>
            <span className="num">{text(s)}</span>
          </li>
        ))}
        <li>
          <span className="swatch seg-free" aria-hidden="true" />
          <span>{freeLabel}</span>
          <span className="num">{format(free)}</span>
        </li>
        {showTotal && (
          <li className="legend-total">
            <span className="num">
              {format(used)} / {format(total)}
            </span>
          </li>
        )}
      </ul>
    </div>
  );
}
