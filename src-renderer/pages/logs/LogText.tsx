// One log line's text: ANSI colours as spans, search matches as <mark>.
import { memo, type ReactNode } from 'react';
import { ansiClass, parseAnsi } from './ansi.js';

/** Start offsets of `needle` in `haystack`, case-insensitive, not overlapping. */
export function findMatches(haystack: string, needle: string): number[] {
  if (!needle) return [];
  const h = haystack.toLowerCase();
  const n = needle.toLowerCase();
  const out: number[] = [];
  for (let i = h.indexOf(n); i !== -1; i = h.indexOf(n, i + n.length)) out.push(i);
  return out;
}

export const LogText = memo(function LogText({ text, search, activeMatch }: { text: string; search: string; activeMatch?: boolean }) {
  const segments = parseAnsi(text);
  const plain = segments.map((s) => s.text).join('');
  const starts = findMatches(plain, search);
  const out: ReactNode[] = [];
  let offset = 0;
  let key = 0;
  for (const segment of segments) {
    const segStart = offset;
    const segEnd = offset + segment.text.length;
    offset = segEnd;
    const parts: ReactNode[] = [];
    let cursor = segStart;
    for (const start of starts) {
      const end = start + search.length;
      if (end <= segStart || start >= segEnd) continue;
      const a = Math.max(start, segStart);
      const b = Math.min(end, segEnd);
      if (a > cursor) parts.push(plain.slice(cursor, a));
      parts.push(
        <mark key={`m${key++}`} className={activeMatch ? 'match match-active' : 'match'}>
          {plain.slice(a, b)}
        </mark>,
      );
      cursor = b;
    }
    if (cursor < segEnd) parts.push(plain.slice(cursor, segEnd));
    out.push(
      segment.style ? (
        <span key={`s${key++}`} className={ansiClass(segment.style)}>
          {parts}
        </span>
      ) : (
        parts
      ),
    );
  }
  return <>{out}</>;
});
