import type { ModelInfo } from '../../../src-shared/contract.js';
import { StateBadge } from '../../app/common.js';

export function ModelPicker({ models, value, onChange, now }: { models: ModelInfo[]; value: string; onChange: (name: string) => void; now: number }) {
  const info = models.find((m) => m.name === value);
  return (
    <div className="picker">
      <label className="field-inline">
        <span>Model</span>
        <select value={value} onChange={(e) => onChange(e.target.value)} data-testid="model-picker">
          {models.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
      </label>
      {info && <StateBadge state={info.state} startedAt={info.startedAt} now={now} />}
      {info && info.state !== 'ready' && info.state !== 'starting' && <span className="muted small">starts on the first request</span>}
    </div>
  );
}
