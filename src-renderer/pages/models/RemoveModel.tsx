// "Remove…" in a model's details: takes its entry out of config.yaml (the engine stops), after a
// question whose safe answer has the focus; its model file goes too only when the box is ticked.
import { useConfirm } from '../../app/ConfirmDialog.js';
import { manager } from '../../api/manager.js';
import { errorText, showToast } from '../../lib/toasts.js';

export function RemoveModel({ name, disabled }: { name: string; disabled: boolean }) {
  const [dialog, ask] = useConfirm();
  const onClick = async () => {
    // The box is read when the answer comes (the dialog's body is drawn once).
    const choice = { deleteFiles: false };
    const ok = await ask({
      title: `Remove ${name}?`,
      body: (
        <>
          <p>Its entry is taken out of config.yaml (the previous version is kept as a backup), and its engine stops if it runs.</p>
          <label className="toggle remove-files">
            <input type="checkbox" onChange={(e) => (choice.deleteFiles = e.target.checked)} />
            Also delete its model file (only one inside a models folder that no other model uses)
          </label>
        </>
      ),
      confirmLabel: 'Remove',
      danger: true,
    });
    if (!ok) return;
    try {
      const result = await manager.removeModel(name, { deleteFiles: choice.deleteFiles });
      if (!result.saved.ok) return showToast(`${name} was not removed: ${result.saved.message}`, 'error', { key: `remove:${name}` });
      const deleted = result.deletedFiles.length > 0 ? ` Deleted ${result.deletedFiles.map((f) => f.split(/[\\/]/).pop()).join(', ')}.` : '';
      const kept = choice.deleteFiles ? result.keptFiles.map((f) => ` Kept ${f.path.split(/[\\/]/).pop()}: ${f.reason}.`).join('') : '';
      showToast(`Removed ${name}.${deleted}${kept}`, kept ? 'warning' : 'success', { key: `remove:${name}` });
    } catch (err) {
      showToast(`Couldn't remove ${name}: ${errorText(err)}`, 'error', { key: `remove:${name}` });
    }
  };
  return (
    <>
      <button type="button" className="button button-quiet" disabled={disabled} onClick={() => void onClick()}>
        Remove…
      </button>
      {dialog}
    </>
  );
}
