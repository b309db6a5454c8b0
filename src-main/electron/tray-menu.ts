// What the tray shows, as pure functions of the models' states: the icon's state, the tooltip,
// the menu template (Electron's MenuItemConstructorOptions) and which changes deserve a notification.
import type { MenuItemConstructorOptions } from 'electron';
import type { ModelInfo, ModelState } from '../../src-shared/contract.js';
import { loadingView } from '../../src-shared/loading.js';

export type TrayState = 'idle' | 'starting' | 'running' | 'error';

export interface TrayMenuState {
  /** The OpenAI base URL (http://127.0.0.1:8080/v1). */
  endpoint: string;
  /** null where the platform has no login items (the item is left out). */
  startAtLogin: boolean | null;
  startHidden: boolean;
  /** Set while every engine is being stopped for quitting. */
  quitting: boolean;
  /** Models are held off (for a game): every engine stopped, none started on request. */
  held: boolean;
}

export interface TrayActions {
  startModel(name: string): void;
  stopModel(name: string): void;
  stopAll(): void;
  setHeld(held: boolean): void;
  openWindow(): void;
  copyEndpoint(): void;
  openConfigFolder(): void;
  openLogsFolder(): void;
  setStartAtLogin(enabled: boolean): void;
  setStartHidden(enabled: boolean): void;
  quit(): void;
}

const STATE_LABEL: Record<ModelState, string> = {
  stopped: 'stopped',
  starting: 'starting…',
  ready: 'running',
  stopping: 'stopping…',
  failed: 'failed',
};
const MAX_NAME = 40;

/** Failed beats starting beats running: the icon points at what needs a look. */
export function trayStateOf(models: readonly Pick<ModelInfo, 'state'>[]): TrayState {
  if (models.some((m) => m.state === 'failed')) return 'error';
  if (models.some((m) => m.state === 'starting' || m.state === 'stopping')) return 'starting';
  if (models.some((m) => m.state === 'ready')) return 'running';
  return 'idle';
}

type TrayModel = Pick<ModelInfo, 'name' | 'state'> & Partial<Pick<ModelInfo, 'startedAt' | 'loading'>>;

/** "qwen 42 % · loading weights": a starting model's progress, or its plain state word. */
function progressText(model: TrayModel, now: number): string | null {
  if (!model.loading) return null;
  const view = loadingView({ state: model.state, startedAt: model.startedAt ?? null, loading: model.loading ?? null }, now);
  return view && view.text ? view.text : null;
}

export function trayTooltip(models: readonly TrayModel[], endpoint: string, held = false, now = Date.now()): string {
  const count = (state: ModelState) => models.filter((m) => m.state === state).length;
  const parts = [`${count('ready')} running`];
  if (held) parts.push('models held');
  if (count('starting') > 0) parts.push(`${count('starting')} starting`);
  if (count('failed') > 0) parts.push(`${count('failed')} failed`);
  // Each start's progress on a line of its own (a tooltip holds a few lines on every platform).
  const loading = models.flatMap((m) => {
    const progress = m.state === 'starting' ? progressText(m, now) : null;
    return progress ? [`${m.name}: loading ${progress}`] : [];
  }).slice(0, 3);
  return [`LLM Manager — ${endpoint}`, parts.join(', '), ...loading].join('\n');
}

/** Menu labels treat & as a mnemonic marker on Windows and Linux; a model name shows it as written. */
function menuText(text: string): string {
  const short = text.length > MAX_NAME ? `${text.slice(0, MAX_NAME - 1)}…` : text;
  return short.replace(/&/g, '&&');
}

function modelItem(model: TrayModel, actions: TrayActions, quitting: boolean, now: number): MenuItemConstructorOptions {
  const active = model.state === 'ready' || model.state === 'starting';
  const progress = model.state === 'starting' ? progressText(model, now) : null;
  return {
    id: `model:${model.name}`,
    label: `${menuText(model.name)} — ${progress ? `loading ${progress}` : STATE_LABEL[model.state]}`,
    type: 'checkbox',
    checked: model.state === 'ready',
    enabled: !quitting && model.state !== 'stopping',
    toolTip: model.state === 'starting' ? `Cancel the start of ${model.name}` : active ? `Stop ${model.name}` : `Start ${model.name}`,
    // Starting counts as on: a click cancels the start (not within 0.5 s of it beginning: tray.ts).
    click: () => (active ? actions.stopModel(model.name) : actions.startModel(model.name)),
  };
}

export function buildTrayMenu(models: readonly TrayModel[], state: TrayMenuState, actions: TrayActions, now = Date.now()): MenuItemConstructorOptions[] {
  const anyActive = models.some((m) => m.state === 'ready' || m.state === 'starting');
  const modelItems: MenuItemConstructorOptions[] =
    models.length > 0
      ? models.map((model) => modelItem(model, actions, state.quitting, now))
      : [{ id: 'no-models', label: 'No models yet — add one in the config', enabled: false }];
  const loginItems: MenuItemConstructorOptions[] = [
    ...(state.startAtLogin === null
      ? []
      : [{ id: 'start-at-login', label: 'Start at login', type: 'checkbox' as const, checked: state.startAtLogin, click: () => actions.setStartAtLogin(!state.startAtLogin) }]),
    { id: 'start-hidden', label: 'Start in the tray (window hidden)', type: 'checkbox', checked: state.startHidden, click: () => actions.setStartHidden(!state.startHidden) },
  ];
  return [
    { id: 'endpoint', label: state.quitting ? 'Stopping every model…' : `Endpoint: ${state.endpoint}`, enabled: false },
    { type: 'separator' },
    ...modelItems,
    { type: 'separator' },
    { id: 'stop-all', label: 'Stop all', enabled: anyActive && !state.quitting, click: () => actions.stopAll() },
    {
      id: 'hold',
      label: 'Hold models (for a game)',
      type: 'checkbox',
      checked: state.held,
      enabled: !state.quitting,
      toolTip: state.held ? 'Requests start models again' : 'Stop every model and start none on request until this is unchecked',
      click: () => actions.setHeld(!state.held),
    },
    { type: 'separator' },
    { id: 'open-window', label: 'Open window', click: () => actions.openWindow() },
    { id: 'copy-endpoint', label: 'Copy endpoint URL', click: () => actions.copyEndpoint() },
    { id: 'open-config-folder', label: 'Open config folder', click: () => actions.openConfigFolder() },
    { id: 'open-logs-folder', label: 'Open logs folder', click: () => actions.openLogsFolder() },
    { type: 'separator' },
    ...loginItems,
    { type: 'separator' },
    { id: 'quit', label: 'Quit', enabled: !state.quitting, click: () => actions.quit() },
  ];
}

export interface TrayNotification {
  title: string;
  body: string;
}

/**
 * Only failures, and starts the user asked for from the tray, are worth interrupting for: a
 * model that just failed, or (when `askedFromTray`) one that just became ready.
 */
export function notificationFor(previous: ModelState | undefined, model: Pick<ModelInfo, 'name' | 'state' | 'lastError'>, askedFromTray: boolean, endpoint: string): TrayNotification | null {
  if (model.state === previous) return null;
  if (model.state === 'failed') {
    const reason = model.lastError?.message.split('\n')[0]?.trim() || 'The engine stopped unexpectedly.';
    return { title: `${model.name} failed`, body: reason.length > 200 ? `${reason.slice(0, 199)}…` : reason };
  }
  if (model.state === 'ready' && askedFromTray) return { title: `${model.name} is ready`, body: `Serving at ${endpoint}` };
  return null;
}
