// One usage chart over the range's buckets (uPlot, like the Devices charts): bars and/or lines,
// a left axis and optionally a right one, a legend of what is drawn.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { UsageGroup } from '../../../src-shared/usage.js';
import { cssVar, useDarkMode } from '../../lib/theme.js';
import { bucketLabel } from './range.js';

export interface ChartSeries {
  label: string;
  values: readonly (number | null)[];
  /** A CSS custom property (--slot-2) or a colour. */
  color: string;
  kind: 'bars' | 'line';
  /** The right axis (a second unit). */
  right?: boolean;
}

interface UsageChartProps {
  at: readonly number[];
  to: number;
  group: UsageGroup;
  series: readonly ChartSeries[];
  left: (v: number) => string;
  right?: (v: number) => string;
  label: string;
  height?: number;
}

const resolve = (color: string) => (color.startsWith('--') ? cssVar(color) : color);

export function UsageChart({ at, to, group, series, left, right, label, height = 180 }: UsageChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dark = useDarkMode();
  const shape = series.map((s) => `${s.label}:${s.kind}:${s.right ? 1 : 0}:${s.color}`).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar('--muted');
    const grid = cssVar('--border');
    const font = `11px ${cssVar('--font-ui')}`;
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font };
    const bars = series.filter((s) => s.kind === 'bars').length;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: true, range: () => [(at[0] ?? to) / 1000, to / 1000] },
        y: { range: (_u, _min, max) => [0, Math.max(1e-9, max * 1.15)] },
        y2: { range: (_u, _min, max) => [0, Math.max(1e-9, max * 1.15)] },
      },
      series: [
        {},
        ...series.map((s, i): uPlot.Series => {
          const color = resolve(s.color);
          return s.kind === 'bars'
            ? { label: s.label, scale: s.right ? 'y2' : 'y', stroke: color, fill: `${color}cc`, width: 0, paths: uPlot.paths.bars!({ size: [0.7 / Math.max(1, bars), 48], align: bars > 1 ? (i === 0 ? -1 : 1) : 0 }), points: { show: false } }
            : { label: s.label, scale: s.right ? 'y2' : 'y', stroke: color, width: 1.75, spanGaps: false, points: { show: at.length <= 40, size: 4, fill: color } };
        }),
      ],
      axes: [
        { ...axis, space: 64, size: 28, values: (_u, ticks) => ticks.map((t) => bucketLabel(t * 1000, group)) },
        { ...axis, scale: 'y', size: 58, values: (_u, ticks) => ticks.map(left) },
        ...(right ? [{ ...axis, scale: 'y2', side: 1, size: 58, grid: { show: false }, values: (_u: uPlot, ticks: number[]) => ticks.map(right) }] : []),
      ],
    };
    const u = new uPlot(opts, toData(at, to, series), el);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(240, el.clientWidth), height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The plot is rebuilt when what it draws changes shape; new numbers only replace its data.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dark, shape, group, height]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(toData(at, to, series), false);
    u.setScale('x', { min: (at[0] ?? to) / 1000, max: to / 1000 });
  }, [at, to, series]);

  return (
    <figure className="chart-figure usage-chart" data-points={at.length}>
      <figcaption className="chart-legend">
        {series.map((s) => (
          <span key={s.label}>
            <span className={s.kind === 'bars' ? 'bar-swatch' : 'line-swatch'} style={{ background: s.color.startsWith('--') ? `var(${s.color})` : s.color }} aria-hidden="true" /> {s.label}
          </span>
        ))}
      </figcaption>
      <div className="chart" ref={box} style={{ height }} role="img" aria-label={label} />
    </figure>
  );
}

/** Bars sit in the middle of their bucket: x is each bucket's midpoint. */
function toData(at: readonly number[], to: number, series: readonly ChartSeries[]): uPlot.AlignedData {
  const x = at.map((t, i) => (t + (i + 1 < at.length ? at[i + 1]! : to)) / 2000);
  return [x, ...series.map((s) => s.values.map((v) => (v === null ? null : v)))];
}
