// A question before something that can't be taken back ("Remove all 3 models?"): a modal dialog
// whose safe answer has the focus, so Enter or Escape never does the destructive thing.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import '../styles/dialogs.css';

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  /** The button that goes ahead, e.g. "Remove all models". */
  confirmLabel: string;
  cancelLabel?: string;
  /** Styles the confirm button as destructive. */
  danger?: boolean;
}

/** `[element, ask]`: render the element; `await ask(...)` is true only when the user confirmed. */
export function useConfirm(): [ReactNode, (request: ConfirmRequest) => Promise<boolean>] {
  const [pending, setPending] = useState<{ request: ConfirmRequest; resolve: (ok: boolean) => void } | null>(null);
  const ask = useCallback(
    (request: ConfirmRequest) =>
      new Promise<boolean>((resolve) => {
        setPending((previous) => {
          previous?.resolve(false);
          return { request, resolve };
        });
      }),
    [],
  );
  const close = (ok: boolean) => {
    pending?.resolve(ok);
    setPending(null);
  };
  const element = pending ? <ConfirmDialog request={pending.request} onClose={close} /> : null;
  return [element, ask];
}

function ConfirmDialog({ request, onClose }: { request: ConfirmRequest; onClose: (ok: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={dialog}
      className="app-dialog confirm-dialog"
      aria-labelledby="confirm-dialog-title"
      aria-describedby="confirm-dialog-body"
      data-testid="confirm-dialog"
      onCancel={(e) => {
        e.preventDefault();
        onClose(false);
      }}
    >
      <h2 id="confirm-dialog-title">{request.title}</h2>
      <div id="confirm-dialog-body" className="app-dialog-body">
        {request.body}
      </div>
      <div className="app-dialog-actions">
        <button type="button" className="button" autoFocus onClick={() => onClose(false)}>
          {request.cancelLabel ?? 'Cancel'}
        </button>
        <button type="button" className={`button ${request.danger ? 'button-danger' : 'button-primary'}`} onClick={() => onClose(true)}>
          {request.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
