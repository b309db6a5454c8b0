// The last 10 minutes of a device: memory used (left axis) and/or utilisation (right axis).
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cssVar, useDarkMode } from '../../lib/theme.js';
import { gapsOf, HISTORY_MS, withGaps, type DeviceHistory } from './history.js';

const HEIGHT = 120;

const hhmm = (seconds: number) => {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

interface DeviceChartProps {
  history: DeviceHistory | undefined;
  memory: boolean;
  utilisation: boolean;
  label: string;
}

export function DeviceChart({ history, memory, utilisation, label }: DeviceChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dark = useDarkMode();
  const latest = useRef(history);
  latest.current = history;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar('--muted');
    const grid = cssVar('--border');
    const memColor = cssVar('--chart-mem');
    const utilColor = cssVar('--chart-util');
    const font = `11px ${cssVar('--font-ui')}`;
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font, space: 28 };
    // A fixed 10-minute window ending at the newest reading: the chart fills in, it never rescales.
    const windowed = (): [number, number] => {
      const t = latest.current?.t;
      const max = t && t.length ? t[t.length - 1]! : Date.now() / 1000;
      return [max - HISTORY_MS / 1000, max];
    };
    const gb = (ticks: number[]) => ticks.map((v) => `${v} GB`);
    const pct = (ticks: number[]) => ticks.map((v) => `${v} %`);
    const series: uPlot.Series[] = [{}];
    const axes: uPlot.Axis[] = [{ ...axis, space: 70, size: 24, values: (_u, ticks) => ticks.map(hhmm) }];
    if (memory) {
      series.push({ label: 'Memory', scale: 'mem', stroke: memColor, width: 1.5, fill: `${memColor}22` });
      axes.push({ ...axis, scale: 'mem', size: 52, values: (_u, ticks) => gb(ticks) });
    }
    if (utilisation) {
      series.push({ label: 'Utilisation', scale: 'pct', stroke: utilColor, width: 1.5 });
      axes.push(memory ? { ...axis, scale: 'pct', side: 1, size: 52, grid: { show: false }, values: (_u, ticks) => pct(ticks) } : { ...axis, scale: 'pct', size: 52, values: (_u, ticks) => pct(ticks) });
    }
    const gapFill = cssVar('--surface-2');
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      // Spans without readings are shaded and say so, instead of looking like a chart cut short.
      hooks: {
        drawClear: [(u) => drawGaps(u, latest.current, gapFill, null, font)],
        draw: [(u) => drawGaps(u, latest.current, gapFill, text, font)],
      },
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: true, range: () => windowed() },
        mem: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
        pct: { range: [0, 100] },
      },
      series,
      axes,
    };
    const u = new uPlot(opts, toData(latest.current, memory, utilisation), el);
    plot.current = u;
    const observer = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [dark, memory, utilisation]);

  useEffect(() => {
    plot.current?.setData(toData(history, memory, utilisation));
  }, [history, memory, utilisation]);

  const what = [memory && 'memory', utilisation && 'utilisation'].filter(Boolean).join(' and ');
  const gaps = gapsIn(history);
  return (
    <figure className="chart-figure" data-points={history?.t.length ?? 0} data-gaps={gaps.length}>
      <figcaption className="chart-legend">
        <span>Last 10 minutes</span>
        {memory && (
          <span>
            <span className="line-swatch line-mem" aria-hidden="true" /> memory used
          </span>
        )}
        {utilisation && (
          <span>
            <span className="line-swatch line-util" aria-hidden="true" /> utilisation
          </span>
        )}
      </figcaption>
      <div className="chart" ref={box} style={{ height: HEIGHT }} role="img" aria-label={`${label}: ${what} over the last 10 minutes${gaps.length > 0 ? ', with spans of no readings' : ''}`} />
    </figure>
  );
}

function toData(raw: DeviceHistory | undefined, memory: boolean, utilisation: boolean): uPlot.AlignedData {
  const history = raw && withGaps(raw);
  const columns: (number | null)[][] = [];
  if (memory) columns.push(history ? history.memUsedMb.map((mb) => (mb === null ? null : mb / 1024)) : []);
  if (utilisation) columns.push(history ? history.utilPct : []);
  return [history?.t ?? [], ...columns];
}

/** The spans of the 10-minute window without readings (the window ends at the newest one). */
function gapsIn(history: DeviceHistory | undefined): [number, number][] {
  const t = history?.t ?? [];
  const end = t.length > 0 ? t[t.length - 1]! : Date.now() / 1000;
  return gapsOf(t, end - HISTORY_MS / 1000, end);
}

const NO_READINGS = 'no readings';

/**
 * Shades each span without readings over the plot area (under the grid: `color` null), or labels
 * it "no readings" where that fits (over the grid, on a patch of the shade).
 */
function drawGaps(u: uPlot, history: DeviceHistory | undefined, fill: string, color: string | null, font: string): void {
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  const ratio = uPlot.pxRatio;
  ctx.save();
  for (const [from, to] of gapsIn(history)) {
    const x0 = Math.max(u.bbox.left, u.valToPos(from, 'x', true));
    const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(to, 'x', true));
    if (x1 - x0 < 2) continue;
    ctx.fillStyle = fill;
    if (color === null) {
      ctx.fillRect(x0, top, x1 - x0, height);
      continue;
    }
    ctx.font = font.replace(/^(\d+)px/, (_m, px: string) => `${Number(px) * ratio}px`);
    const width = ctx.measureText(NO_READINGS).width + 12 * ratio;
    if (width > x1 - x0) continue;
    const lineHeight = 16 * ratio;
    ctx.fillRect((x0 + x1 - width) / 2, top + (height - lineHeight) / 2, width, lineHeight);
    ctx.fillStyle = color;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(NO_READINGS, (x0 + x1) / 2, top + height / 2);
  }
  ctx.restore();
}
