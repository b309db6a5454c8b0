// Stop all, as the tray has it: asks first when a model is serving (apps using it lose it), not
// when models are only starting.
import type { ModelInfo } from '../../../src-shared/contract.js';
import { useConfirm } from '../../app/ConfirmDialog.js';
import { stopAll } from '../../api/actions.js';

export function StopAll({ models, disabled }: { models: readonly ModelInfo[]; disabled: boolean }) {
  const [dialog, ask] = useConfirm();
  const active = models.filter((m) => m.state === 'ready' || m.state === 'starting');
  const serving = active.filter((m) => m.state === 'ready');
  const starting = active.filter((m) => m.state === 'starting');

  const onClick = async () => {
    if (serving.length > 0) {
      const n = serving.length;
      const ok = await ask({
        title: n === 1 ? `Stop ${serving[0]!.name}?` : `Stop all ${n} running models?`,
        body: (
          <p>
            {n > 1 && <>{listOf(serving.map((m) => m.name))} stop. </>}
            {starting.length > 0 && <>The start of {listOf(starting.map((m) => m.name))} is cancelled too. </>}A request for a model starts it
            again; to keep them all stopped (for a game), use Hold models.
          </p>
        ),
        confirmLabel: n === 1 ? 'Stop it' : 'Stop them',
        danger: true,
      });
      if (!ok) return;
    }
    stopAll();
  };

  return (
    <>
      <button
        type="button"
        className="button"
        disabled={disabled || active.length === 0}
        onClick={() => void onClick()}
        title={active.length === 0 ? 'Nothing is running' : 'Stop every running model and cancel every start'}
        data-testid="stop-all"
      >
        Stop all
      </button>
      {dialog}
    </>
  );
}

function listOf(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
