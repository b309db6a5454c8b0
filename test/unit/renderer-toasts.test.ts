// The window's toasts without a browser: one corner's worth (three at most), successes and news
// fade by themselves, errors stay until dismissed or until what they report is over.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearToast, dismissToast, MAX_TOASTS, showToast, toasts } from '../../src-renderer/lib/toasts.js';

const texts = () => toasts.get().map((t) => t.text);

describe('toasts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    toasts.set([]);
  });
  afterEach(() => vi.useRealTimers());

  it('keeps at most three, the newest last', () => {
    for (let i = 1; i <= 5; i++) showToast(`error ${i}`, 'error');
    expect(MAX_TOASTS).toBe(3);
    expect(texts()).toEqual(['error 3', 'error 4', 'error 5']);
  });

  it('lets successes and news fade by themselves; errors stay until dismissed', () => {
    showToast('Saved: demo updated.', 'success');
    showToast('config.yaml changed on disk', 'info');
    showToast("Couldn't stop demo", 'error');
    vi.advanceTimersByTime(4_000);
    expect(texts()).toEqual(['config.yaml changed on disk', "Couldn't stop demo"]);
    vi.advanceTimersByTime(2_000);
    expect(texts()).toEqual(["Couldn't stop demo"]);
    vi.advanceTimersByTime(60 * 60_000);
    expect(texts()).toEqual(["Couldn't stop demo"]);
    dismissToast(toasts.get()[0]!.id);
    expect(texts()).toEqual([]);
  });

  it('replaces a toast about the same thing, and the same news, instead of stacking them', () => {
    showToast('Not saved: fix the errors first.', 'error', { key: 'config-errors' });
    showToast('Not saved: fix the errors first.', 'error', { key: 'config-errors' });
    showToast('Copied 3 lines.', 'success');
    showToast('Copied 3 lines.', 'success');
    expect(texts()).toEqual(['Not saved: fix the errors first.', 'Copied 3 lines.']);
    showToast('Not saved: 2 errors', 'error', { key: 'config-errors' });
    expect(texts()).toEqual(['Copied 3 lines.', 'Not saved: 2 errors']);
  });

  it('goes away when its condition no longer holds', () => {
    showToast('Not saved: fix the errors first.', 'error', { key: 'config-errors' });
    showToast("Couldn't stop demo", 'error', { key: 'stop:demo' });
    clearToast('config-errors');
    expect(texts()).toEqual(["Couldn't stop demo"]);
    const before = toasts.get();
    clearToast('config-errors'); // nothing to clear: no re-render
    expect(toasts.get()).toBe(before);
  });
});
