// The Config page's safety net: "Restore…" lists the saved versions of config.yaml (the node keeps
// the last 10) and loads one into the editor to review and save; and the question asked before a
// save that would remove every model.
import { useEffect, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { ConfigBackup } from '../../../src-shared/contract.js';
import type { ConfirmRequest } from '../../app/ConfirmDialog.js';
import { Skeleton } from '../../app/common.js';
import { manager } from '../../api/manager.js';
import { formatDateTime } from '../../lib/format.js';
import { errorText } from '../../lib/toasts.js';
import '../../styles/dialogs.css';

/** The question before a save that leaves no model (or an empty file). */
export function removeAllRequest(models: readonly string[]): ConfirmRequest {
  const n = models.length;
  if (n === 0) {
    return {
      title: 'Save an empty config?',
      body: <p>config.yaml will have no models and only default settings. Restore… brings back the version it replaces.</p>,
      confirmLabel: 'Save empty config',
      danger: true,
    };
  }
  return {
    title: n === 1 ? 'Remove the only model?' : `Remove all ${n} models?`,
    body: (
      <>
        <p>
          This save leaves no model in config.yaml: {n === 1 ? 'it stops and removes' : 'they stop and are removed'}, and requests for{' '}
          {n === 1 ? 'it' : 'them'} will fail.
        </p>
        <ul className="confirm-names">
          {models.map((name) => (
            <li key={name}>
              <code className="mono">{name}</code>
            </li>
          ))}
        </ul>
        <p>Restore… brings back the version it replaces.</p>
      </>
    ),
    confirmLabel: n === 1 ? 'Remove it' : `Remove all ${n} models`,
    danger: true,
  };
}

/** The "Restore…" button and its dialog; `onLoad` gets the chosen version's text. */
export function RestoreVersions({ disabled, onLoad }: { disabled: boolean; onLoad: (text: string, backup: ConfigBackup) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button" disabled={disabled} onClick={() => setOpen(true)} title="Load a previously saved version into the editor" data-testid="restore-version">
        Restore…
      </button>
      {open && <VersionsDialog onClose={() => setOpen(false)} onLoad={onLoad} />}
    </>
  );
}

function VersionsDialog({ onClose, onLoad }: { onClose: () => void; onLoad: (text: string, backup: ConfigBackup) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const versions = useQuery({ queryKey: ['config', 'backups'], queryFn: () => manager.listConfigBackups(), staleTime: 0, gcTime: 0 });
  const [loading, setLoading] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);

  const load = async (backup: ConfigBackup) => {
    setLoading(backup.id);
    setProblem(null);
    try {
      const { text } = await manager.readConfigBackup(backup.id);
      onLoad(text, backup);
      onClose();
    } catch (err) {
      setProblem(`Couldn't read that version: ${errorText(err)}`);
      setLoading(null);
    }
  };

  const now = Date.now();
  return (
    <dialog
      ref={dialog}
      className="app-dialog versions-dialog"
      aria-labelledby="versions-title"
      data-testid="versions-dialog"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="versions-title">Restore a previous version</h2>
      <p className="app-dialog-note">
        Each save keeps the version it replaces; the last 10 are kept next to config.yaml. Loading one puts it in the editor: look it over, then Save.
      </p>
      {versions.isPending ? (
        <ul className="versions-list" aria-busy="true">
          {[0, 1, 2].map((i) => (
            <li key={i}>
              <Skeleton width="60%" />
            </li>
          ))}
        </ul>
      ) : versions.isError ? (
        <p className="app-dialog-problem" role="alert">
          Couldn't list the saved versions: {errorText(versions.error)}
        </p>
      ) : versions.data.length === 0 ? (
        <p className="versions-empty">No saved versions yet: the first save keeps the current file here.</p>
      ) : (
        <ul className="versions-list">
          {versions.data.map((backup) => (
            <li key={backup.id} data-testid="version">
              <div className="version-text">
                <span className="version-time">{formatDateTime(backup.savedAt)}</span>
                <span className="version-meta">
                  {formatAgo(now - Date.parse(backup.savedAt))} · {formatSize(backup.sizeBytes)} ·{' '}
                  {backup.models === null ? <span className="version-invalid">not a valid config</span> : `${backup.models} model${backup.models === 1 ? '' : 's'}`}
                </span>
              </div>
              <button type="button" className="button" disabled={loading !== null} onClick={() => void load(backup)} aria-label={`Load the version saved ${formatDateTime(backup.savedAt)}`}>
                {loading === backup.id ? 'Loading…' : 'Load'}
              </button>
            </li>
          ))}
        </ul>
      )}
      {problem && (
        <p className="app-dialog-problem" role="alert">
          {problem}
        </p>
      )}
      <div className="app-dialog-actions">
        <button type="button" className="button" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </dialog>
  );
}

function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
}
