// ManagerApi over Electron IPC, main-process side: every call of the contract on its own channel,
// events pushed to the window on one channel. Adds no behaviour: arguments are checked against the
// route table (the same one /api uses), then the core's api is called as it is.
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { managerRoutes, type ManagerApi, type ManagerCallName, type ManagerEvent, type RouteSpec } from '../../src-shared/contract.js';
import { ApiError } from '../../src-shared/errors.js';
import { downloadIdParamSchema, managerSchemas } from '../../src-shared/api-schemas.js';
import { serializeError } from '../../src-shared/serialized-error.js';
import { channelFor, EVENT_CHANNEL, EVENTS_SWITCH_CHANNEL, managerCallNames, type IpcReply } from './ipc-contract.js';

export type IpcMainLike = Pick<IpcMain, 'handle' | 'removeHandler'>;
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;
type EventTarget = Pick<WebContents, 'send' | 'isDestroyed' | 'once'>;

/** The same bound /api puts on a model name in its path. */
const MAX_NAME_LENGTH = 256;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Registers a handler for every ManagerCallName (from `managerRoutes`, so a call added to the
 * contract is bound without touching this file) and the events switch. Returns the undo.
 */
export function bindManagerApi(ipcMain: IpcMainLike, api: ManagerApi, isTrustedSender: SenderCheck): () => void {
  const channels: string[] = [];
  for (const name of managerCallNames) {
    const spec: RouteSpec = managerRoutes[name];
    const call = api[name] as (...args: unknown[]) => Promise<unknown>;
    const channel = channelFor(name);
    ipcMain.handle(channel, (event, ...args: unknown[]) =>
      guarded(event, isTrustedSender, async () => {
        checkArgs(name, spec, args);
        return call.apply(api, args);
      }),
    );
    channels.push(channel);
  }

  const subscriptions = new Map<EventTarget, () => void>();
  const watched = new WeakSet<EventTarget>();
  const stopEvents = (target: EventTarget) => {
    subscriptions.get(target)?.();
    subscriptions.delete(target);
  };
  const startEvents = (target: EventTarget) => {
    if (subscriptions.has(target)) return;
    const send = (event: ManagerEvent) => {
      if (!target.isDestroyed()) target.send(EVENT_CHANNEL, event);
    };
    subscriptions.set(target, api.subscribe(send));
    if (!watched.has(target)) {
      watched.add(target);
      target.once('destroyed', () => stopEvents(target));
    }
    // Like /api/events: a new listener first learns every model's current state.
    void api.listModels().then(
      (models) => models.forEach((model) => send({ type: 'model', model })),
      () => undefined,
    );
  };
  ipcMain.handle(EVENTS_SWITCH_CHANNEL, (event, on: unknown) =>
    guarded(event, isTrustedSender, async () => {
      if (typeof on !== 'boolean') throw new ApiError(400, 'invalid_arguments', 'events switch: expected true or false');
      if (on) startEvents(event.sender);
      else stopEvents(event.sender);
      return null;
    }),
  );
  channels.push(EVENTS_SWITCH_CHANNEL);

  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
    for (const target of [...subscriptions.keys()]) stopEvents(target);
  };
}

async function guarded<T>(event: IpcMainInvokeEvent, isTrustedSender: SenderCheck, run: () => Promise<T>): Promise<IpcReply<T>> {
  try {
    if (!isTrustedSender(event)) throw new ApiError(403, 'untrusted_sender', 'this page may not use LLM Manager', 'permission_error');
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: serializeError(err) };
  }
}

/** The renderer is not trusted to send well-typed values: check each against its route's argument kind. */
function checkArgs(name: ManagerCallName, spec: RouteSpec, args: unknown[]): void {
  const bad = (why: string, code = 'invalid_arguments') => new ApiError(400, code, `${name}: ${why}`);
  if (args.length > spec.args.length) throw bad(`expected at most ${spec.args.length} argument(s), got ${args.length}`);
  spec.args.forEach((kind, i) => {
    const value = args[i];
    switch (kind) {
      case 'name':
        if (typeof value !== 'string') throw bad('expected a model name');
        if (value.length > MAX_NAME_LENGTH || CONTROL_CHARACTERS.test(value)) {
          throw bad(`a model name must be at most ${MAX_NAME_LENGTH} characters without control characters`, 'invalid_model_name');
        }
        break;
      case 'tail':
        if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) throw bad('tail must be a whole number ≥ 0');
        break;
      case 'text':
        if (typeof value !== 'string') throw bad('expected the config text as a string');
        break;
      case 'saveOptions':
        if (value === undefined) break;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('expected the save options as an object');
        for (const [key, option] of Object.entries(value)) {
          if (key !== 'confirmRemoveAll' || (option !== undefined && typeof option !== 'boolean')) throw bad('the only save option is confirmRemoveAll: true or false');
        }
        break;
      case 'backupId':
        if (typeof value !== 'string' || value.length > 16) throw bad('expected a backup id');
        break;
      case 'downloadId':
        if (!downloadIdParamSchema.safeParse(value).success) throw bad('expected a download id');
        break;
      case 'body': {
        // The same schema /api checks the JSON body with.
        const schema = (managerSchemas[name] as { body?: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } } }).body;
        const checked = schema?.safeParse(value);
        if (!checked || !checked.success) throw bad(checked?.error?.issues[0]?.message ?? 'expected an object', 'invalid_request');
        break;
      }
      case 'query':
        if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) throw bad('expected the query as an object');
        break;
      case 'removeOptions':
        if (value === undefined) break;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('expected the remove options as an object');
        for (const [key, option] of Object.entries(value)) {
          if (key !== 'deleteFiles' || (option !== undefined && typeof option !== 'boolean')) throw bad('the only remove option is deleteFiles: true or false');
        }
        break;
    }
  });
}

/** The origin of a URL ("http://127.0.0.1:8080"), or null for opaque ones (file:, data:, about:). */
export function originOf(url: string): string | null {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/**
 * A sender is trusted when it is one of our windows and the message comes from its top frame
 * showing our page (not an iframe, not a page it was navigated to).
 */
export function createSenderCheck(options: { isOurWebContents: (contents: WebContents) => boolean; trustedOrigin: string }): SenderCheck {
  const trusted = originOf(options.trustedOrigin);
  return (event) => {
    if (trusted === null || !options.isOurWebContents(event.sender)) return false;
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    return originOf(frame.url) === trusted;
  };
}
