// The Models page's logic without a browser: the guard that keeps a double click on Start from
// cancelling the start (shared with the tray), and the idle countdown's wording.
import { describe, expect, it } from 'vitest';
import { ACTION_GUARD_MS, ActionGuard, actionFor } from '../../src-shared/action-guard.js';
import { formatElapsed, formatRemaining } from '../../src-renderer/lib/format.js';

describe('ActionGuard', () => {
  const clock = () => {
    const c = { t: 1_000, now: () => c.t };
    return c;
  };

  it('maps each state to its one action', () => {
    expect(['stopped', 'failed', 'starting', 'ready', 'stopping'].map((s) => actionFor(s as never))).toEqual(['start', 'start', 'cancel', 'stop', null]);
  });

  it('lets the first click through at once, even right after the page opened', () => {
    const c = clock();
    const guard = new ActionGuard(c.now);
    guard.note('demo', 'stopped');
    expect(guard.allow('demo', 'stopped')).toBe(true);
    expect(guard.allow('other', 'ready')).toBe(true); // never seen before
  });

  it('drops the second click of a double click, whether or not the new state has arrived', () => {
    const c = clock();
    const guard = new ActionGuard(c.now);
    guard.note('demo', 'stopped');
    expect(guard.allow('demo', 'stopped')).toBe(true);
    c.t += 120;
    expect(guard.allow('demo', 'stopped')).toBe(false); // still shows Start
    c.t += 30;
    guard.note('demo', 'starting'); // Start became Cancel start under the pointer
    c.t += 200;
    expect(guard.allow('demo', 'starting')).toBe(false);
    c.t += ACTION_GUARD_MS;
    expect(guard.allow('demo', 'starting')).toBe(true); // a deliberate cancel
  });

  it('drops a click that lands just after the action changed by itself (a start from the tray)', () => {
    const c = clock();
    const guard = new ActionGuard(c.now);
    guard.note('demo', 'stopped');
    c.t += 10_000;
    guard.note('demo', 'starting');
    c.t += ACTION_GUARD_MS - 1;
    expect(guard.allow('demo', 'starting')).toBe(false);
    c.t += ACTION_GUARD_MS;
    expect(guard.allow('demo', 'starting')).toBe(true);
  });

  it('never acts on a stopping model', () => {
    const guard = new ActionGuard(() => 0);
    expect(guard.allow('demo', 'stopping')).toBe(false);
  });
});

describe('formatRemaining', () => {
  it('shows seconds under two minutes, then minutes', () => {
    expect(formatRemaining(45_000)).toBe('45 s');
    expect(formatRemaining(90_000)).toBe('90 s');
    expect(formatRemaining(119_000)).toBe('119 s');
    expect(formatRemaining(120_000)).toBe('2 m');
    expect(formatRemaining(15 * 60_000)).toBe('15 m');
    expect(formatRemaining(125 * 60_000)).toBe('2 h 5 m');
    expect(formatRemaining(0)).toBe('now');
  });
});

describe('formatElapsed', () => {
  it('counts seconds, then minutes and hours as a clock (narrow enough for the state badge)', () => {
    expect(formatElapsed(12_400)).toBe('12 s');
    expect(formatElapsed(65_000)).toBe('1:05');
    expect(formatElapsed(12 * 60_000 + 59_000)).toBe('12:59');
    expect(formatElapsed(3_600_000 + 2 * 60_000 + 3_000)).toBe('1:02:03');
  });
});
