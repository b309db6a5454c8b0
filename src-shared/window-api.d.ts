// What the desktop app's preload puts on `window`. The renderer includes this file; nothing here
// needs the DOM library (an interface named Window merges with the DOM's where that is loaded).
import type { ManagerApi } from './contract.js';

declare global {
  interface Window {
    /**
     * ManagerApi over Electron IPC, present only in the desktop app's window (a browser uses
     * HTTP). A failed call rejects with a plain SerializedError ({name, message, status, code,
     * type}, see serialized-error.ts), not an Error, because contextBridge would keep only an
     * Error's message; `reviveError(err)` turns it into an ApiError.
     */
    llmManager?: ManagerApi;
  }
}

export {};
