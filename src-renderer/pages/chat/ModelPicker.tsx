import type { ModelInfo, ModelState } from '../../../src-shared/contract.js';
import { StateBadge } from '../../app/common.js';

/** What each model's line in the list says after its name. */
const STATE_WORD: Record<ModelState, string> = {
  ready: 'ready',
  starting: 'starting',
  stopping: 'stopping',
  stopped: 'stopped',
  failed: 'failed',
};

/** What happens when a message is sent to a model in this state. */
function sendHint(state: ModelState): string | null {
  if (state === 'stopped') return 'starts on the first message';
  if (state === 'failed') return 'its last start failed; a message tries again';
  if (state === 'stopping') return 'starts again on the next message';
  return null;
}

export function ModelPicker({ models, value, onChange, now, disabled }: { models: ModelInfo[]; value: string; onChange: (name: string) => void; now: number; disabled?: boolean }) {
  const info = models.find((m) => m.name === value);
  const hint = info ? sendHint(info.state) : null;
  return (
    <div className="picker">
      <label className="field-inline">
        <span>Model</span>
        <select value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled ?? false} data-testid="model-picker" title={disabled ? 'Stop the answer to pick another model' : undefined}>
          {models.map((m) => (
            <option key={m.name} value={m.name} data-state={m.state}>
              {m.name} — {STATE_WORD[m.state]}
            </option>
          ))}
        </select>
      </label>
      {info && <StateBadge state={info.state} startedAt={info.startedAt} now={now} />}
      {hint && <span className={`muted small${info?.state === 'failed' ? ' picker-failed' : ''}`}>{hint}</span>}
    </div>
  );
}
