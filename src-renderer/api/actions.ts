// The one action a model row offers: start it when it's down, cancel its start, stop it when it
// runs; and Stop all. A click right after the action changed is the tail of a double click and is
// dropped (ActionGuard), so a double click on Start never cancels the start.
import { ActionGuard, actionFor } from '../../src-shared/action-guard.js';
import type { ModelInfo } from '../../src-shared/contract.js';
import { reviveError } from '../../src-shared/serialized-error.js';
import { clearToast, errorText, showToast } from '../lib/toasts.js';
import { manager } from './manager.js';

/** Sees every model state the window shows (through noteModel), and every click on an action. */
export const modelActions = new ActionGuard();

/** Every model state the window shows passes here (queries.ts: list reads and events). */
export function noteModel(model: Pick<ModelInfo, 'name' | 'state'>): void {
  modelActions.note(model.name, model.state);
  // A toast about a start or a stop that didn't happen goes once the model did it after all.
  if (model.state === 'starting' || model.state === 'ready') clearToast(`start:${model.name}`);
  if (model.state === 'stopping' || model.state === 'stopped') clearToast(`stop:${model.name}`);
}

export interface ToggleOptions {
  /** A start the user asked for failed: the caller shows it in place (the Models row opens) instead of a toast. */
  onStartFailed?: (name: string) => void;
}

export function toggleRunning(model: ModelInfo, options: ToggleOptions = {}): void {
  if (!modelActions.allow(model.name, model.state)) return;
  const { name } = model;
  const action = actionFor(model.state);
  clearToast(`start:${name}`);
  clearToast(`stop:${name}`);
  if (action === 'start') {
    // Resolves when the engine is ready; the row follows the model's events meanwhile.
    manager.startModel(name).catch((err: unknown) => {
      const { code } = reviveError(err);
      if (code === 'model_start_cancelled') return; // asked for (Stop, Stop all, Hold)
      if (code === 'model_start_failed' && options.onStartFailed) return options.onStartFailed(name);
      showToast(`${name} did not start: ${errorText(err)}`, 'error', { key: `start:${name}` });
    });
  } else if (action === 'cancel' || action === 'stop') {
    manager.stopModel(name).catch((err: unknown) => showToast(`Couldn't stop ${name}: ${errorText(err)}`, 'error', { key: `stop:${name}` }));
  }
}

export function stopAll(): void {
  clearToast('stop-all');
  manager.stopAll().catch((err: unknown) => showToast(`Couldn't stop every model: ${errorText(err)}`, 'error', { key: 'stop-all' }));
}
