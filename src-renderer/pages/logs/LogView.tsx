// A virtualised log: only the rows in view (plus a margin) are in the DOM, so thousands of lines
// scroll smoothly. Follows the end while the view sits at the bottom; scrolling up pauses that.
// A selection over several lines is kept as the lines it spans, so copying it takes every one of
// them, also those scrolled out of the DOM (the browser's own copy would drop them).
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import type { LogLine } from '../../../src-shared/contract.js';
import { ArrowDownIcon } from '../../app/icons.js';
import { plainLine } from './ansi.js';
import type { ShownLine } from './fold.js';
import { LogText } from './LogText.js';

export const ROW_HEIGHT = 20;
const OVERSCAN = 15;

interface LogViewProps {
  lines: readonly ShownLine[];
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

  useLineSelection(box, lines);

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
      <div key={line.seq} className={`log-line stream-${line.stream}${i === activeLine ? ' is-active' : ''}`} style={{ top: i * ROW_HEIGHT }} data-seq={line.seq} data-index={i}>
        <span className="log-ts">{timeOf(line.ts)}</span>
        <span className="log-text">
          <LogText text={line.text} search={search} activeMatch={i === activeLine} />
        </span>
        {line.repeat > 1 && (
          <span className="log-repeat" title={`${line.repeat} lines like this in a row; the time is the last one's`}>
            × {line.repeat}
          </span>
        )}
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

/**
 * Tracks which lines a mouse selection in the log spans (by seq, so lines trimmed off the front
 * don't shift it) and answers a copy of a selection over several lines with all of them, as plain
 * text. Ctrl/Cmd+A in the log selects every line. A selection within one line copies as the
 * browser does.
 */
function useLineSelection(box: RefObject<HTMLDivElement | null>, lines: readonly LogLine[]): void {
  const latest = useRef(lines);
  latest.current = lines;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let span: { anchor: number; focus: number } | null = null;
    let dragging = false;
    /** The seq of the line at a pointer height, clamped to the log (above or below it while dragging). */
    const seqAt = (clientY: number): number | null => {
      const list = latest.current;
      if (list.length === 0) return null;
      const top = el.getBoundingClientRect().top + el.clientTop;
      const index = Math.floor((clientY - top + el.scrollTop) / ROW_HEIGHT);
      return list[Math.max(0, Math.min(list.length - 1, index))]!.seq;
    };
    const onDown = (e: MouseEvent) => {
      if (e.button !== 0) return;
      const inside = el.contains(e.target as Node) && e.clientX - el.getBoundingClientRect().left < el.clientLeft + el.clientWidth;
      if (!inside) {
        span = null;
        return;
      }
      const seq = seqAt(e.clientY);
      if (seq === null) return;
      span = e.shiftKey && span ? { anchor: span.anchor, focus: seq } : { anchor: seq, focus: seq };
      dragging = true;
    };
    const onMove = (e: MouseEvent) => {
      if (!dragging || !span) return;
      const seq = seqAt(e.clientY);
      if (seq !== null) span.focus = seq;
    };
    const onUp = () => {
      dragging = false;
    };
    const onKey = (e: KeyboardEvent) => {
      const list = latest.current;
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== 'a' || list.length === 0) return;
      e.preventDefault();
      span = { anchor: list[0]!.seq, focus: list.at(-1)!.seq };
      window.getSelection()?.selectAllChildren(el.firstElementChild ?? el);
    };
    const onCopy = (e: ClipboardEvent) => {
      // A drag over several lines in the log (span) is copied whole even where the browser's own
      // selection has collapsed: the row it began on may have left the DOM as the log scrolled
      // (the list only renders the rows in view), which ends the browser's selection with it.
      // A mousedown anywhere else clears the span, so an older drag is never what gets copied.
      if (!span || span.anchor === span.focus || !e.clipboardData) return;
      const active = document.activeElement;
      if (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement) return;
      const list = latest.current;
      const from = Math.min(span.anchor, span.focus);
      const to = Math.max(span.anchor, span.focus);
      const picked = list.filter((line) => line.seq >= from && line.seq <= to);
      if (picked.length === 0) return;
      e.clipboardData.setData('text/plain', picked.map(plainLine).join('\n'));
      e.preventDefault();
    };
    document.addEventListener('mousedown', onDown, true);
    document.addEventListener('mousemove', onMove, true);
    document.addEventListener('mouseup', onUp, true);
    document.addEventListener('copy', onCopy);
    el.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown, true);
      document.removeEventListener('mousemove', onMove, true);
      document.removeEventListener('mouseup', onUp, true);
      document.removeEventListener('copy', onCopy);
      el.removeEventListener('keydown', onKey);
    };
  }, [box]);
}
