// A virtualised log: only the rows in view (plus a margin) are in the DOM, so thousands of lines
// scroll smoothly. Follows the end while the view sits at the bottom; scrolling up pauses that.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { LogLine } from '../../../src-shared/contract.js';
import { ArrowDownIcon } from '../../app/icons.js';
import { LogText } from './LogText.js';

export const ROW_HEIGHT = 20;
const OVERSCAN = 15;

interface LogViewProps {
  lines: readonly LogLine[];
  search: string;
  /** Index of the line holding the current search match, scrolled into view when it changes. */
  activeLine: number | null;
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
  /** Lines that arrived since following paused. */
  newSincePause: number;
}

function timeOf(ts: number): string {
  const d = new Date(ts);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function LogView({ lines, search, activeLine, follow, onFollowChange, newSincePause }: LogViewProps) {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setView((v) => ({ ...v, height: el.clientHeight })));
    observer.observe(el);
    setView({ top: el.scrollTop, height: el.clientHeight });
    return () => observer.disconnect();
  }, []);

  const scrollToEnd = useCallback(() => {
    const el = box.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    setView({ top: el.scrollTop, height: el.clientHeight });
  }, []);

  // Follow mode: stay at the end as lines arrive.
  useLayoutEffect(() => {
    if (follow) scrollToEnd();
  }, [follow, lines, scrollToEnd]);

  // Search: bring the current match into the middle of the view.
  useEffect(() => {
    const el = box.current;
    if (!el || activeLine === null) return;
    const top = activeLine * ROW_HEIGHT;
    if (top < el.scrollTop || top + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
      el.scrollTop = Math.max(0, top - el.clientHeight / 2);
    }
  }, [activeLine]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setView({ top: el.scrollTop, height: el.clientHeight });
    // At the end = following; anywhere above it = paused (the user scrolled up).
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 1.5;
    if (atEnd !== follow) onFollowChange(atEnd);
  };

  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const line = lines[i]!;
    rows.push(
      <div key={line.seq} className={`log-line stream-${line.stream}${i === activeLine ? ' is-active' : ''}`} style={{ top: i * ROW_HEIGHT }} data-seq={line.seq}>
        <span className="log-ts">{timeOf(line.ts)}</span>
        <span className="log-text">
          <LogText text={line.text} search={search} activeMatch={i === activeLine} />
        </span>
      </div>,
    );
  }

  return (
    <div className="log-view-wrap">
      <div className="log-view mono" ref={box} onScroll={onScroll} tabIndex={0} role="log" aria-label="Log lines" aria-live="off" data-testid="log-view" data-line-count={lines.length}>
        <div className="log-spacer" style={{ height: lines.length * ROW_HEIGHT }}>
          {rows}
        </div>
      </div>
      {!follow && (
        <button type="button" className="button button-primary jump-latest" onClick={() => onFollowChange(true)}>
          <ArrowDownIcon />
          Jump to latest{newSincePause > 0 ? ` (${newSincePause} new)` : ''}
        </button>
      )}
    </div>
  );
}
