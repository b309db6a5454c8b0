// A model has one action that changes under the pointer (Start → Cancel start → Stop): the second
// click of a double click on Start would cancel the start it just asked for. So a click that comes
// this soon after the action changed, or after the last click acted on, is dropped. The window's
// button and the tray's menu item share it.
import type { ModelState } from './contract.js';

export const ACTION_GUARD_MS = 500;

/** What a model's one action does in each state; null: nothing to do (it is stopping). */
export type ModelAction = 'start' | 'cancel' | 'stop';

export function actionFor(state: ModelState): ModelAction | null {
  if (state === 'stopped' || state === 'failed') return 'start';
  if (state === 'starting') return 'cancel';
  if (state === 'ready') return 'stop';
  return null;
}

export class ActionGuard {
  private readonly seen = new Map<string, { action: ModelAction | null; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A model's state as it is shown now (an event, a list read): its action may have changed. */
  note(name: string, state: ModelState): void {
    const action = actionFor(state);
    const prev = this.seen.get(name);
    // First sight (the page just opened) is not a change: a click right away counts.
    if (!prev) this.seen.set(name, { action, since: -Infinity });
    else if (prev.action !== action) this.seen.set(name, { action, since: this.now() });
  }

  /** The user clicked `name`'s action while it showed `state`: whether to act on the click. */
  allow(name: string, state: ModelState): boolean {
    this.note(name, state);
    const entry = this.seen.get(name)!;
    const now = this.now();
    if (entry.action === null || now - entry.since < ACTION_GUARD_MS) return false;
    // The click changes the action (a start turns into Cancel start): guard from now, before the
    // state change has even arrived.
    entry.since = now;
    return true;
  }

  forget(name: string): void {
    this.seen.delete(name);
  }
}
