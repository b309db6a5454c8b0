// config.yaml in an editor that checks it with the node's own parser as you type: exact ranges
// underlined, a list of problems below, Save only when the text is valid. Once the text parses, the
// node checks it too, for what a browser can't see (scripts, commands, cwd, devices present).
import { useEffect, useMemo, useRef, useState } from 'react';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { useQueryClient } from '@tanstack/react-query';
import { parseConfigText, type ConfigIssue } from '../../../src-shared/config.js';
import type { ConfigBackup } from '../../../src-shared/contract.js';
import { ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { useConfirm } from '../../app/ConfirmDialog.js';
import { manager } from '../../api/manager.js';
import { queryKeys, useConfigDocument } from '../../api/queries.js';
import { useStore } from '../../lib/store.js';
import { clearToast, errorText, showToast } from '../../lib/toasts.js';
import { formatDateTime } from '../../lib/format.js';
import { removeAllRequest, RestoreVersions } from './ConfigVersions.js';
import { configDraft, editorMemory, hasUnsavedChanges, reconcileDisk } from './draft.js';
import { editorExtensions } from './editor.js';
import { MODEL_TEMPLATES, planModelInsert, type TemplateId } from './templates.js';

const VALIDATE_DELAY_MS = 120;
/** How long typing pauses before the node is asked about the text (it looks at files and devices). */
const NODE_CHECK_DELAY_MS = 500;

let currentView: EditorView | null = null;
const saveRef: { current: () => void } = { current: () => {} };
const extensions = editorExtensions({
  onChange: (text) => configDraft.set((d) => ({ ...d, text })),
  onSave: () => saveRef.current(),
});

/** Replaces the editor's text (reload, revert), through the editor when it is open. */
function replaceText(text: string): void {
  if (currentView) {
    currentView.dispatch({ changes: { from: 0, to: currentView.state.doc.length, insert: text }, userEvent: 'reload' });
  } else {
    editorMemory.state = null;
    configDraft.set((d) => ({ ...d, text }));
  }
}

/** A saved version into the editor as one edit (Ctrl+Z or Revert takes it back); saving it is a normal save. */
function loadVersion(text: string, backup: ConfigBackup): void {
  const view = currentView;
  if (view) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: 0 }, scrollIntoView: true, userEvent: 'restore' });
  else replaceText(text);
  showToast(`Loaded the version saved ${formatDateTime(backup.savedAt)}: look it over, then Save.`, 'info');
}

/** Drops the unsaved edits for the text now on disk. */
function reloadFromDisk(): void {
  const disk = configDraft.get().diskText;
  if (disk === null) return;
  configDraft.set((d) => ({ ...d, base: disk, diskText: null }));
  replaceText(disk);
}

interface Checked {
  text: string;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

function check(text: string): Checked {
  const result = parseConfigText(text);
  return { text, errors: result.ok ? [] : result.errors, warnings: result.warnings };
}

/** The node's issues for a text (the parser's and its own), or `failed`: it couldn't be asked (the local ones stand). */
interface NodeChecked {
  text: string;
  issues: ConfigIssue[];
  failed?: boolean;
}

const byPlace = (issues: ConfigIssue[]) => [...issues].sort((a, b) => a.from - b.from);

export function ConfigPage() {
  const doc = useConfigDocument();
  const draft = useStore(configDraft);
  const client = useQueryClient();
  const [saving, setSaving] = useState(false);
  const [confirmDialog, confirm] = useConfirm();
  const [checked, setChecked] = useState<Checked | null>(() => (draft.text !== null ? check(draft.text) : null));
  const [nodeChecked, setNodeChecked] = useState<NodeChecked | null>(null);

  // The file on disk (first load, after a save, or edited outside the app).
  useEffect(() => {
    if (!doc.data) return;
    const outcome = reconcileDisk(doc.data.text, doc.data.path);
    if (outcome === 'reloaded') {
      replaceText(doc.data.text);
      showToast('config.yaml changed on disk; the editor now shows the new version.', 'info');
    }
  }, [doc.data]);

  // Validate as you type (a short pause so a burst of keys is one check).
  useEffect(() => {
    if (draft.text === null) return;
    const text = draft.text;
    if (checked?.text === text) return;
    const timer = setTimeout(() => setChecked(check(text)), VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft.text, checked?.text]);

  // Once the text parses, ask the node what only it can tell (a pause in typing is one request).
  const parses = checked !== null && checked.text === draft.text && checked.errors.length === 0;
  const nodeCurrent = nodeChecked !== null && checked !== null && nodeChecked.text === checked.text;
  useEffect(() => {
    if (!parses || nodeCurrent) return;
    const text = checked.text;
    let stale = false;
    const timer = setTimeout(() => {
      manager.checkConfig(text).then(
        (result) => !stale && setNodeChecked({ text, issues: result.issues }),
        () => !stale && setNodeChecked({ text, issues: [], failed: true }),
      );
    }, NODE_CHECK_DELAY_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [parses, nodeCurrent, checked]);

  // The node's list for this text when it has answered (its parser's issues and its own), else ours.
  const issues = useMemo(() => {
    if (checked && nodeChecked && nodeChecked.text === checked.text && !nodeChecked.failed) return byPlace(nodeChecked.issues);
    return checked ? byPlace([...checked.errors, ...checked.warnings]) : [];
  }, [checked, nodeChecked]);
  const nodePending = parses && !nodeCurrent;
  const unsaved = hasUnsavedChanges(draft);
  const errorCount = checked?.errors.length ?? 0;
  // The last check decides (so the button doesn't blink while typing); save() checks the latest text again.
  const canSave = unsaved && errorCount === 0 && !saving;
  // A "not saved" toast goes once its reason has: the errors are fixed, or there is nothing to save.
  const errorsFixed = checked !== null && checked.text === draft.text && errorCount === 0;
  useEffect(() => {
    if (errorsFixed || !unsaved) clearToast('config-errors');
    if (!unsaved) clearToast('config-save');
  }, [errorsFixed, unsaved]);

  const save = async () => {
    const text = configDraft.get().text;
    if (text === null || !hasUnsavedChanges(configDraft.get()) || saving) return;
    if (!parseConfigText(text).ok) {
      setChecked(check(text));
      showToast('Not saved: fix the errors first.', 'error', { key: 'config-errors' });
      return;
    }
    setSaving(true);
    try {
      let result = await manager.saveConfig(text);
      // A save that leaves no model: the node asks first, and so do we.
      if (result.needsConfirmation) {
        if (!(await confirm(removeAllRequest(result.needsConfirmation.removeAll)))) return;
        result = await manager.saveConfig(text, { confirmRemoveAll: true });
      }
      if (result.ok) {
        configDraft.set((d) => ({ ...d, base: text, diskText: null }));
        // The node's issues for what was saved: its warnings (a command that isn't there) show at once.
        setNodeChecked({ text, issues: result.issues });
        // "Saved: demo restarts now — but its command /x does not exist, so it will fail." stays until read.
        showToast(result.message, result.message.includes(' — but ') ? 'warning' : 'success', { key: 'config-saved' });
        void client.invalidateQueries({ queryKey: queryKeys.config });
        void client.invalidateQueries({ queryKey: queryKeys.models });
      } else {
        setChecked({ text, errors: result.issues.filter((i) => i.severity === 'error'), warnings: result.issues.filter((i) => i.severity === 'warning') });
        showToast(result.message, 'error', { key: 'config-errors' });
      }
    } catch (err) {
      showToast(`Not saved: ${errorText(err)}`, 'error', { key: 'config-save' });
    } finally {
      setSaving(false);
    }
  };
  // Ctrl/Cmd+S inside the editor comes here too.
  saveRef.current = () => void save();

  // One editor change (Ctrl+Z takes it back), the new name selected so typing renames it.
  const addModel = (id: TemplateId) => {
    const view = currentView;
    if (!view) return;
    const plan = planModelInsert(view.state.doc.toString(), id);
    view.dispatch({
      changes: { from: plan.from, to: plan.to, insert: plan.insert },
      selection: { anchor: plan.nameFrom, head: plan.nameTo },
      // The whole block in view, its name near the top.
      effects: EditorView.scrollIntoView(plan.nameFrom, { y: 'start', yMargin: 60 }),
      userEvent: 'input',
    });
    view.focus();
    showToast(`Added ${plan.name}: rename it, point it at your model, then Save.`, 'info');
  };

  const jumpTo = (issue: ConfigIssue) => {
    const view = currentView;
    if (!view) return;
    const len = view.state.doc.length;
    view.dispatch({ selection: { anchor: Math.min(issue.from, len), head: Math.min(issue.to, len) }, scrollIntoView: true });
    view.focus();
  };

  return (
    <div className="page-body page-fill">
      <PageHeader title="Config">
        {draft.path && (
          <code className="mono path" title={draft.path}>
            <bdi dir="ltr">{draft.path}</bdi>
          </code>
        )}
        <select
          className="add-model"
          aria-label="Add a model from a template"
          value=""
          disabled={draft.text === null}
          onChange={(e) => {
            if (e.target.value) addModel(e.target.value as TemplateId);
          }}
          data-testid="add-model"
        >
          <option value="" disabled>
            Add model…
          </option>
          {MODEL_TEMPLATES.map((t) => (
            <option key={t.id} value={t.id}>
              {t.label}
            </option>
          ))}
        </select>
        <span className={`save-state${unsaved ? ' is-unsaved' : ''}`} data-testid="save-state" aria-live="polite">
          {unsaved ? 'Unsaved changes' : draft.base !== null ? 'Saved' : ''}
        </span>
        <RestoreVersions disabled={draft.text === null || saving} onLoad={loadVersion} />
        <button type="button" className="button" disabled={!unsaved || saving} onClick={() => draft.base !== null && replaceText(draft.base)}>
          Revert
        </button>
        <button type="button" className="button button-primary" disabled={!canSave} onClick={() => void save()} title={errorCount > 0 ? 'Fix the errors first' : 'Save (Ctrl+S)'} data-testid="save-config">
          {saving ? 'Saving…' : 'Save'}
        </button>
      </PageHeader>

      {draft.diskText !== null && (
        <div className="notice notice-warn" role="alert">
          <div>
            <strong>config.yaml changed on disk.</strong>
            <p>Another program edited the file while you have unsaved changes here.</p>
          </div>
          <div className="notice-actions">
            <button type="button" className="button" onClick={() => reloadFromDisk()}>
              Reload from disk
            </button>
            <button type="button" className="button" onClick={() => configDraft.set((d) => ({ ...d, base: d.diskText, diskText: null }))}>
              Keep my edits
            </button>
          </div>
        </div>
      )}
      {doc.data && doc.data.issues.length > 0 && !unsaved && (
        <div className="notice notice-warn" role="note">
          <div>
            <strong>The file on disk has errors; LLM Manager keeps running the last valid config.</strong>
            <p>Fix them below and save.</p>
          </div>
        </div>
      )}

      {doc.isError && draft.text === null ? (
        <ErrorNotice title="Couldn't read config.yaml" message={`${errorText(doc.error)} Check that LLM Manager is running.`} retry={() => void doc.refetch()} />
      ) : draft.text === null ? (
        <div className="editor-frame editor-loading" aria-busy="true">
          {Array.from({ length: 12 }, (_, i) => (
            <div key={i} className="editor-skeleton-line">
              <Skeleton width={`${25 + ((i * 29) % 55)}%`} />
            </div>
          ))}
        </div>
      ) : (
        <Editor initialText={draft.text} issues={checked?.text === draft.text ? issues : null} />
      )}

      <IssuePanel issues={issues} loaded={draft.text !== null} nodePending={nodePending} onPick={jumpTo} />
      {confirmDialog}
    </div>
  );
}

function Editor({ initialText, issues }: { initialText: string; issues: ConfigIssue[] | null }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);

  useEffect(() => {
    const state = editorMemory.state && editorMemory.state.doc.toString() === configDraft.get().text ? editorMemory.state : EditorState.create({ doc: initialText, extensions });
    const v = new EditorView({ state, parent: host.current! });
    view.current = v;
    currentView = v;
    v.scrollDOM.scrollTop = editorMemory.scrollTop;
    return () => {
      editorMemory.state = v.state;
      editorMemory.scrollTop = v.scrollDOM.scrollTop;
      if (currentView === v) currentView = null;
      v.destroy();
    };
    // The editor is created once per visit; later text changes flow through it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (!v || issues === null) return;
    const len = v.state.doc.length;
    const diagnostics: Diagnostic[] = issues.map((issue) => {
      let from = Math.min(issue.from, len);
      let to = Math.min(Math.max(issue.to, from), len);
      if (from === to) {
        // An empty range can't be underlined: mark the character next to it.
        if (to < len) to += 1;
        else if (from > 0) from -= 1;
      }
      return { from, to, severity: issue.severity, message: issue.path ? `${issue.path}: ${issue.message}` : issue.message };
    });
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [issues]);

  return <div className="editor-frame" ref={host} data-testid="config-editor" />;
}

function IssuePanel({ issues, loaded, nodePending, onPick }: { issues: ConfigIssue[]; loaded: boolean; nodePending: boolean; onPick: (issue: ConfigIssue) => void }) {
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  const summary =
    !loaded ? 'Checking…'
    : errors > 0 ? `${errors} error${errors > 1 ? 's' : ''} — fix ${errors > 1 ? 'them' : 'it'} to save`
    : warnings > 0 ? `No errors · ${warnings} warning${warnings > 1 ? 's' : ''}${nodePending ? ' · checking files and devices…' : ''}`
    : nodePending ? 'No errors · checking files and devices…'
    : 'No problems';
  return (
    <section className={`issue-panel${errors > 0 ? ' has-errors' : ''}`} aria-label="Problems" data-testid="issue-panel">
      <header>
        <span className={`status-dot ${errors > 0 ? 'status-bad' : warnings > 0 ? 'status-warn' : 'status-ok'}`} aria-hidden="true" />
        <span>{summary}</span>
      </header>
      {issues.length > 0 && (
        <ul>
          {issues.map((issue, i) => (
            <li key={`${issue.from}-${issue.to}-${i}`}>
              <button type="button" className={`issue issue-${issue.severity}`} onClick={() => onPick(issue)} data-line={issue.line}>
                <span className="issue-where num">
                  Line {issue.line}:{issue.col}
                </span>
                <span className="issue-sev">{issue.severity}</span>
                {issue.path && <code className="mono issue-path">{issue.path}</code>}
                <span className="issue-msg">{issue.message}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
