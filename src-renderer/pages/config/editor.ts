// CodeMirror 6 for config.yaml, from its parts: YAML highlighting, lint marks fed by the core's own
// parser, a small undo history and YAML-friendly Tab/Enter.
import { yaml } from '@codemirror/lang-yaml';
import { indentUnit, syntaxHighlighting } from '@codemirror/language';
import { lintGutter } from '@codemirror/lint';
import { ChangeSet, EditorSelection, EditorState, StateEffect, StateField, Transaction, type Extension } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars, keymap, lineNumbers, ViewPlugin, type Command, type ViewUpdate } from '@codemirror/view';
import { classHighlighter } from '@lezer/highlight';

// ---- undo / redo -------------------------------------------------------------------------------

interface HistoryEntry {
  /** Undoes the edit: the inverted changes and the selection before it. */
  changes: ChangeSet;
  selection: EditorSelection;
  at: number;
  userEvent: string;
}

interface HistoryState {
  done: HistoryEntry[];
  undone: HistoryEntry[];
}

const fromHistory = StateEffect.define<'undo' | 'redo'>();
const GROUP_MS = 600;
const MAX_ENTRIES = 300;

const historyField = StateField.define<HistoryState>({
  create: () => ({ done: [], undone: [] }),
  update(value, tr) {
    const replay = tr.effects.find((e) => e.is(fromHistory));
    if (replay) {
      const entry: HistoryEntry = { changes: tr.changes.invert(tr.startState.doc), selection: tr.startState.selection, at: 0, userEvent: 'history' };
      return replay.value === 'undo'
        ? { done: value.done.slice(0, -1), undone: [...value.undone, entry] }
        : { done: [...value.done, entry], undone: value.undone.slice(0, -1) };
    }
    if (!tr.docChanged || tr.annotation(Transaction.addToHistory) === false) return value;
    const userEvent = tr.annotation(Transaction.userEvent) ?? 'edit';
    const inverse = tr.changes.invert(tr.startState.doc);
    const now = Date.now();
    const last = value.done.at(-1);
    // Typing in one go is one undo step.
    if (last && now - last.at < GROUP_MS && last.userEvent === userEvent && /^(input|delete)/.test(userEvent)) {
      const merged: HistoryEntry = { ...last, changes: inverse.compose(last.changes), at: now };
      return { done: [...value.done.slice(0, -1), merged], undone: [] };
    }
    const entry: HistoryEntry = { changes: inverse, selection: tr.startState.selection, at: now, userEvent };
    return { done: [...value.done, entry].slice(-MAX_ENTRIES), undone: [] };
  },
});

function replay(kind: 'undo' | 'redo'): Command {
  return (view) => {
    const history = view.state.field(historyField);
    const entry = (kind === 'undo' ? history.done : history.undone).at(-1);
    if (!entry) return false;
    view.dispatch({ changes: entry.changes, selection: entry.selection, effects: fromHistory.of(kind), scrollIntoView: true, userEvent: kind });
    return true;
  };
}

// ---- YAML editing --------------------------------------------------------------------------------

const INDENT = '  ';

const insertNewline: Command = (view) => {
  view.dispatch(
    view.state.changeByRange((range) => {
      const line = view.state.doc.lineAt(range.from);
      const before = line.text.slice(0, range.from - line.from);
      let indent = /^\s*/.exec(line.text)![0];
      if (/:\s*(#.*)?$/.test(before)) indent += INDENT; // a new mapping starts
      else if (/^\s*-\s/.test(before) && /:\s*\S/.test(before)) indent += INDENT; // "- key: value" item
      const insert = `\n${indent}`;
      return { changes: { from: range.from, to: range.to, insert }, range: EditorSelection.cursor(range.from + insert.length) };
    }),
    { scrollIntoView: true, userEvent: 'input' },
  );
  return true;
};

const indentMore: Command = (view) => {
  const { state } = view;
  if (state.selection.ranges.every((r) => r.empty)) {
    view.dispatch(state.replaceSelection(INDENT), { userEvent: 'input' });
    return true;
  }
  const changes = linesOf(state).map((from) => ({ from, insert: INDENT }));
  view.dispatch({ changes, userEvent: 'input.indent' });
  return true;
};

const indentLess: Command = (view) => {
  const { state } = view;
  const changes = linesOf(state).flatMap((from) => {
    const text = state.doc.lineAt(from).text;
    const n = Math.min(INDENT.length, /^ */.exec(text)![0].length);
    return n > 0 ? [{ from, to: from + n }] : [];
  });
  if (changes.length) view.dispatch({ changes, userEvent: 'delete.dedent' });
  return true;
};

function linesOf(state: EditorState): number[] {
  const starts = new Set<number>();
  for (const r of state.selection.ranges) {
    for (let pos = r.from; pos <= r.to; ) {
      const line = state.doc.lineAt(pos);
      starts.add(line.from);
      pos = line.to + 1;
    }
  }
  return [...starts];
}

// Tab indents; Escape then Tab leaves the editor, so keyboard users are never trapped.
let escaped = false;
const tabOrLeave = (cmd: Command): Command => (view) => {
  if (escaped) {
    escaped = false;
    return false;
  }
  return cmd(view);
};

// ---- moving through the file --------------------------------------------------------------------

// Without a binding the browser moves the caret itself, and it only knows the lines CodeMirror has
// drawn (those near the view): Ctrl+End would land mid-file. So the file's ends are commands.
const toDocEdge = (end: boolean, extend: boolean): Command => (view) => {
  const pos = end ? view.state.doc.length : 0;
  const selection = extend ? EditorSelection.range(view.state.selection.main.anchor, pos) : EditorSelection.cursor(pos);
  // All the way to the edge, padding included (a plain scrollIntoView stops a few pixels short).
  view.dispatch({ selection, effects: EditorView.scrollIntoView(pos, { y: end ? 'end' : 'start', yMargin: 24 }), userEvent: 'select' });
  return true;
};

/**
 * The line numbers stay put (sticky) while the text scrolls under them, so the browser, which
 * doesn't know that, scrolls a line "into view" by aligning it with the gutter's left edge: the
 * view shifts right by the gutter's width and the start of every line is hidden. Scroll padding
 * as wide as the gutter tells it where the visible text begins.
 */
const gutterScrollPadding = ViewPlugin.fromClass(
  class {
    constructor(view: EditorView) {
      this.measure(view);
    }
    update(update: ViewUpdate) {
      if (update.geometryChanged) this.measure(update.view);
    }
    measure(view: EditorView) {
      view.requestMeasure({
        key: this,
        read: (v) => v.dom.querySelector<HTMLElement>('.cm-gutters')?.offsetWidth ?? 0,
        write: (width, v) => {
          v.scrollDOM.style.scrollPaddingLeft = `${width}px`;
        },
      });
    }
  },
);

// ---- theme ---------------------------------------------------------------------------------------

const theme = EditorView.theme({
  '&': { height: '100%', backgroundColor: 'var(--surface)', color: 'var(--text)', fontSize: '13px' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'var(--font-mono)', lineHeight: '1.55' },
  '.cm-content': { caretColor: 'var(--text)', padding: '8px 0' },
  // Under CodeMirror's 5 px scroll margin, so a caret at a line's start scrolls the view fully left.
  '.cm-line': { padding: '0 2px 0 4px' },
  '.cm-cursor': { borderLeftColor: 'var(--text)' },
  '.cm-gutters': { backgroundColor: 'var(--surface-2)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)', color: 'var(--text)' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: 'var(--selection)' },
  '.cm-lintRange-error': { backgroundImage: 'none', textDecoration: 'underline wavy var(--red)', textUnderlineOffset: '3px', textDecorationSkipInk: 'none' },
  '.cm-lintRange-warning': { backgroundImage: 'none', textDecoration: 'underline wavy var(--amber)', textUnderlineOffset: '3px', textDecorationSkipInk: 'none' },
  '.cm-tooltip': { backgroundColor: 'var(--surface)', border: '1px solid var(--border)', borderRadius: '6px', boxShadow: 'var(--shadow)' },
  '.cm-diagnostic': { fontFamily: 'var(--font-ui)', padding: '4px 8px' },
});

export interface EditorHooks {
  onChange: (text: string) => void;
  onSave: () => void;
}

export function editorExtensions(hooks: EditorHooks): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    drawSelection(),
    highlightActiveLine(),
    gutterScrollPadding,
    historyField,
    indentUnit.of(INDENT),
    EditorState.tabSize.of(2),
    yaml(),
    syntaxHighlighting(classHighlighter),
    lintGutter(),
    keymap.of([
      { key: 'Mod-z', run: replay('undo'), preventDefault: true },
      { key: 'Mod-Shift-z', run: replay('redo'), preventDefault: true },
      { key: 'Mod-y', run: replay('redo'), preventDefault: true },
      { key: 'Mod-s', run: () => (hooks.onSave(), true), preventDefault: true },
      { key: 'Mod-Home', run: toDocEdge(false, false), shift: toDocEdge(false, true), preventDefault: true },
      { key: 'Mod-End', run: toDocEdge(true, false), shift: toDocEdge(true, true), preventDefault: true },
      { key: 'Enter', run: insertNewline },
      { key: 'Tab', run: tabOrLeave(indentMore) },
      { key: 'Shift-Tab', run: tabOrLeave(indentLess) },
      {
        key: 'Escape',
        run: () => {
          escaped = true;
          return false;
        },
      },
    ]),
    EditorView.domEventHandlers({
      keydown: (e) => {
        if (e.key !== 'Escape' && e.key !== 'Tab' && e.key !== 'Shift') escaped = false;
        return false;
      },
    }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) hooks.onChange(update.state.doc.toString());
    }),
    EditorView.contentAttributes.of({ 'aria-label': 'config.yaml', spellcheck: 'false', autocapitalize: 'off', autocorrect: 'off' }),
    theme,
  ];
}
