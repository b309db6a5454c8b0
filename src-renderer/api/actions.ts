// The one action a model row offers: start it when it's down, stop it when it runs.
import type { ModelInfo } from '../../src-shared/contract.js';
import { errorText, showToast } from '../lib/toasts.js';
import { manager } from './manager.js';

export function toggleRunning(model: ModelInfo): void {
  if (model.state === 'stopped' || model.state === 'failed') {
    // Resolves when the engine is ready; the row follows the model's events meanwhile.
    manager.startModel(model.name).catch((err: unknown) => showToast(`${model.name} did not start: ${errorText(err)}`, 'error'));
  } else if (model.state === 'ready' || model.state === 'starting') {
    manager.stopModel(model.name).catch((err: unknown) => showToast(`Couldn't stop ${model.name}: ${errorText(err)}`, 'error'));
  }
}
