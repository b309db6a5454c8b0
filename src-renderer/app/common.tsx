// Small pieces every page uses: badges, copy button, skeletons, empty and error states.
import { useState, type ReactNode } from 'react';
import type { ModelState } from '../../src-shared/contract.js';
import { copyText } from '../lib/clipboard.js';
import { formatElapsed } from '../lib/format.js';
import { CheckIcon, CopyIcon } from './icons.js';

const STATE_LABEL: Record<ModelState, string> = {
  stopped: 'Stopped',
  starting: 'Starting',
  ready: 'Ready',
  stopping: 'Stopping',
  failed: 'Failed',
};

export function StateBadge({ state, startedAt, now }: { state: ModelState; startedAt: string | null; now: number }) {
  const elapsed = state === 'starting' && startedAt ? formatElapsed(now - Date.parse(startedAt)) : null;
  return (
    <span className={`badge badge-${state}`} data-state={state}>
      {state === 'starting' || state === 'stopping' ? <span className="spinner" aria-hidden="true" /> : <span className="badge-dot" aria-hidden="true" />}
      {STATE_LABEL[state]}
      {elapsed && <span className="badge-time">{elapsed}</span>}
    </span>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="icon-button"
      aria-label={copied ? 'Copied' : label}
      title={copied ? 'Copied' : label}
      onClick={() => {
        void copyText(text).then((ok) => {
          if (!ok) return;
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? <CheckIcon /> : <CopyIcon />}
    </button>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </header>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" role="note">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

/** What went wrong and what to do; `retry` adds a button. */
export function ErrorNotice({ title, message, retry }: { title: string; message: string; retry?: () => void }) {
  return (
    <div className="notice notice-error" role="alert">
      <div>
        <strong>{title}</strong>
        <p>{message}</p>
      </div>
      {retry && (
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Skeleton({ width = '100%', height = '0.9em' }: { width?: string | number; height?: string | number }) {
  return <span className="skeleton" style={{ width, height }} aria-hidden="true" />;
}
