// One recorded request, every field the ledger keeps (the client is a key's name, never a key).
import { useEffect, useRef } from 'react';
import type { UsageRequest } from '../../../src-shared/usage.js';
import { isFailedStatus } from '../../../src-shared/usage.js';
import { formatMs } from '../../lib/format.js';
import '../../styles/dialogs.css';
import { formatCount, formatSpeed } from './range.js';

export function RequestDetails({ request: r, onClose }: { request: UsageRequest; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);
  const failed = isFailedStatus(r.status);
  const rows: [string, string][] = [
    ['Started', new Date(r.startedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium', hour12: false })],
    ['Model', r.model || '(none matched)'],
    ['Asked for', r.requested],
    ['Endpoint', r.endpoint],
    ['Status', r.status === 0 ? '0 — the client went away before an answer began' : String(r.status)],
    ...(r.errorCode ? ([['Error', r.errorCode]] as [string, string][]) : []),
    ['Client', r.client || 'unknown'],
    ['Streamed', r.streamed ? 'yes' : 'no'],
    ['Tokens in', r.promptTokens === null ? '—' : `${formatCount(r.promptTokens)}${r.cachedTokens ? ` (${formatCount(r.cachedTokens)} from cache)` : ''}`],
    ['Tokens out', formatCount(r.completionTokens)],
    ['First byte', formatMs(r.ttftMs)],
    ['Total time', formatMs(r.totalMs)],
    ['Speed', formatSpeed(r.tokensPerSecond)],
  ];
  return (
    <dialog
      ref={dialog}
      className="app-dialog request-dialog"
      aria-labelledby="request-dialog-title"
      data-testid="request-details"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === dialog.current) onClose();
      }}
    >
      <h2 id="request-dialog-title">
        {failed ? 'Failed request' : 'Request'} #{r.id}
      </h2>
      <dl className="request-fields">
        {rows.map(([k, v]) => (
          <div key={k} className={k === 'Status' && failed ? 'failed-text' : undefined}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <div className="app-dialog-actions">
        <button type="button" className="button" autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
