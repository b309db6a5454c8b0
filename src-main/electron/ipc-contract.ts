// ManagerApi as IPC channels, derived from the contract: one `manager:<call>` channel per call in
// `managerRoutes`, and one channel that pushes ManagerEvents to the window. The preload imports
// this file for types only (a sandboxed preload can require nothing but 'electron').
import { managerRoutes, type ManagerApi, type ManagerCallName } from '../../src-shared/contract.js';
import type { SerializedError } from '../../src-shared/serialized-error.js';

export type ManagerChannel<N extends ManagerCallName = ManagerCallName> = `manager:${N}`;

/** main → window: one ManagerEvent per message. */
export const EVENT_CHANNEL = 'manager:event';
/** window → main: `true` when the page has its first event listener, `false` when its last one left. */
export const EVENTS_SWITCH_CHANNEL = 'manager:events';

export type CallArgs<N extends ManagerCallName> = Parameters<ManagerApi[N]>;
export type CallResult<N extends ManagerCallName> = Awaited<ReturnType<ManagerApi[N]>>;

/** What every call channel answers: ipcMain.handle would keep only an Error's message, so errors travel as data. */
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export const managerCallNames = Object.keys(managerRoutes) as ManagerCallName[];

export function channelFor<N extends ManagerCallName>(name: N): ManagerChannel<N> {
  return `manager:${name}`;
}

export const managerChannels = Object.fromEntries(managerCallNames.map((name) => [name, channelFor(name)])) as {
  readonly [N in ManagerCallName]: ManagerChannel<N>;
};
