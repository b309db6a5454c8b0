// The config editor's draft lives here, not in the page, so unsaved edits survive switching pages.
import type { EditorState } from '@codemirror/state';
import { createStore } from '../../lib/store.js';

export interface ConfigDraft {
  /** The text on disk as last loaded or saved; null until the first load. */
  base: string | null;
  /** What the editor holds. */
  text: string | null;
  path: string | null;
  /** The file changed on disk while there were unsaved edits: the text now on disk. */
  diskText: string | null;
}

export const configDraft = createStore<ConfigDraft>({ base: null, text: null, path: null, diskText: null });

export function hasUnsavedChanges(draft: ConfigDraft): boolean {
  return draft.base !== null && draft.text !== null && draft.text !== draft.base;
}

/** The editor's whole state (undo history, cursor, scroll) kept between visits to the page. */
export const editorMemory: { state: EditorState | null; scrollTop: number } = { state: null, scrollTop: 0 };

/** Brings in the text on disk: taken as-is without local edits, offered as a reload with them. */
export function reconcileDisk(diskText: string, path: string): 'loaded' | 'reloaded' | 'conflict' | 'same' {
  const draft = configDraft.get();
  if (draft.base === null || draft.text === null) {
    configDraft.set({ base: diskText, text: diskText, path, diskText: null });
    return 'loaded';
  }
  if (diskText === draft.base) {
    if (draft.diskText !== null) configDraft.set({ ...draft, diskText: null });
    return 'same';
  }
  if (draft.text === diskText) {
    // Our own save, seen through the file before its answer arrived.
    configDraft.set({ ...draft, base: diskText, diskText: null });
    return 'same';
  }
  if (!hasUnsavedChanges(draft)) {
    configDraft.set({ base: diskText, text: diskText, path, diskText: null });
    return 'reloaded';
  }
  if (draft.diskText !== diskText) configDraft.set({ ...draft, diskText });
  return 'conflict';
}
