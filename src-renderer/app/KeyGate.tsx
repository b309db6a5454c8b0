// The key dialog: a browser reaching a node that has program.api_keys is asked for one of them the
// first time a call is refused (401). The app's own window never sees it (its key comes from Electron).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { checkKey, enterKey, keyRequest } from '../api/auth.js';
import { useStore } from '../lib/store.js';

export function KeyGate() {
  const request = useStore(keyRequest);
  const client = useQueryClient();
  const dialog = useRef<HTMLDialogElement>(null);
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const [checking, setChecking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (request && !d.open) d.showModal();
    if (!request && d.open) d.close();
  }, [request]);

  if (!request) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const entered = key.trim();
    if (!entered || checking) return;
    setChecking(true);
    setProblem(null);
    const verdict = await checkKey(window.location.origin, entered);
    setChecking(false);
    if (verdict === 'refused') return setProblem("That key isn't one of program.api_keys. Check config.yaml on the computer LLM Manager runs on.");
    if (verdict === 'unreachable') return setProblem("Can't reach LLM Manager. Is it still running?");
    enterKey(entered, remember);
    setKey('');
    void client.invalidateQueries();
  };

  const invalid = request.reason === 'invalid' && !problem;
  return (
    <dialog
      ref={dialog}
      className="key-gate"
      aria-labelledby="key-gate-title"
      // Without a key nothing on the page works: Escape doesn't dismiss it.
      onCancel={(e) => e.preventDefault()}
    >
      <form onSubmit={(e) => void submit(e)}>
        <h2 id="key-gate-title">This LLM Manager needs an API key</h2>
        <p>
          It only answers requests that carry one of the keys in <code className="mono">program.api_keys</code> of its{' '}
          <code className="mono">config.yaml</code>, the same key your OpenAI clients use.
        </p>
        {invalid && <p className="key-gate-problem" role="alert">The key this page had was refused; enter another one.</p>}
        <label className="field">
          <span>API key</span>
          <input
            type="password"
            autoFocus
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            aria-invalid={problem !== null}
            aria-describedby={problem ? 'key-gate-problem' : undefined}
          />
        </label>
        {problem && (
          <p className="key-gate-problem" id="key-gate-problem" role="alert">
            {problem}
          </p>
        )}
        <label className="toggle">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          Remember on this browser
        </label>
        <p className="key-gate-note">Otherwise it is kept for this tab only, and forgotten when the tab closes.</p>
        <div className="key-gate-actions">
          <button type="submit" className="button button-primary" disabled={key.trim() === '' || checking}>
            {checking ? 'Checking…' : 'Continue'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
