// The tray: an icon per overall state, a tooltip with the endpoint, and a menu rebuilt (debounced)
// whenever a model changes. Everything it shows comes from tray-menu.ts; this file only wires the
// ManagerApi's events to Electron's Tray and Menu, which are passed in.
import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import { ActionGuard } from '../../src-shared/action-guard.js';
import type { ManagerApi, ModelInfo, ModelState } from '../../src-shared/contract.js';
import { reviveError } from '../../src-shared/serialized-error.js';
import { buildTrayMenu, notificationFor, trayStateOf, trayTooltip, type TrayActions, type TrayMenuState, type TrayNotification, type TrayState } from './tray-menu.js';

export type TrayLike = Pick<Tray, 'setImage' | 'setToolTip' | 'setContextMenu' | 'on' | 'destroy'>;

export interface TrayDeps {
  createTray(image: NativeImage): TrayLike;
  buildMenu(template: MenuItemConstructorOptions[]): Menu;
  icon(state: TrayState): NativeImage;
  notify(notification: TrayNotification): void;
  api: ManagerApi;
  /** The OpenAI base URL shown and copied. */
  endpoint: string;
  /** Read at every rebuild. */
  settings(): Omit<TrayMenuState, 'endpoint' | 'held'>;
  /** What the menu does besides starting and stopping models and holding them off. */
  actions: Omit<TrayActions, 'startModel' | 'stopModel' | 'stopAll' | 'setHeld'>;
  /** Model events come in bursts (a start is several); one rebuild per burst. */
  debounceMs?: number;
}

export interface AppTray {
  /** Rebuild soon (a setting changed, quitting began). */
  refresh(): void;
  dispose(): void;
}

const QUIET_CODES = new Set(['model_start_failed', 'model_start_cancelled']);

export function setupTray(deps: TrayDeps): AppTray {
  let models = new Map<string, ModelInfo>();
  /** Models whose start the user asked for from the tray: their "ready" is worth a notification. */
  const askedFromTray = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let shownState: TrayState = 'idle';
  /** Whether models are held off, as the node last said (the window can change it too). */
  let held = false;
  /** A click on a model's item right after its state changed (Start became Cancel start) is dropped. */
  const guard = new ActionGuard();
  const allowed = (name: string, assumed: ModelState) => guard.allow(name, models.get(name)?.state ?? assumed);
  const tray = deps.createTray(deps.icon(shownState));

  const report = (what: string) => (err: unknown) => {
    const error = reviveError(err);
    // A failed start also turns the model "failed", which notifies on its own; a cancelled one was asked for.
    if (!QUIET_CODES.has(error.code)) deps.notify({ title: what, body: error.message.split('\n')[0] ?? error.message });
  };
  const actions: TrayActions = {
    ...deps.actions,
    startModel(name) {
      if (!allowed(name, 'stopped')) return;
      askedFromTray.add(name);
      deps.api.startModel(name).catch(report(`Couldn't start ${name}`));
    },
    stopModel(name) {
      if (!allowed(name, 'ready')) return;
      askedFromTray.delete(name);
      deps.api.stopModel(name).catch(report(`Couldn't stop ${name}`));
    },
    stopAll() {
      askedFromTray.clear();
      deps.api.stopAll().catch(report("Couldn't stop every model"));
    },
    setHeld(on) {
      held = on;
      schedule();
      if (on) askedFromTray.clear();
      (on ? deps.api.holdModels() : deps.api.releaseModels()).then(
        (health) => {
          held = health.heldSince !== null;
          schedule();
        },
        report(on ? "Couldn't hold the models" : "Couldn't release the models"),
      );
    },
  };

  /** While a model starts, its progress in the tooltip and menu moves once a second (estimates move with time alone). */
  let progressTimer: ReturnType<typeof setTimeout> | undefined;
  const render = () => {
    timer = undefined;
    const list = [...models.values()];
    if (progressTimer === undefined && list.some((m) => m.state === 'starting')) {
      progressTimer = setTimeout(() => {
        progressTimer = undefined;
        schedule();
      }, 1000);
    }
    const state = trayStateOf(list);
    if (state !== shownState) {
      shownState = state;
      tray.setImage(deps.icon(state));
    }
    tray.setToolTip(trayTooltip(list, deps.endpoint, held));
    tray.setContextMenu(deps.buildMenu(buildTrayMenu(list, { endpoint: deps.endpoint, ...deps.settings(), held }, actions)));
  };
  const schedule = () => {
    timer ??= setTimeout(render, deps.debounceMs ?? 150);
  };

  const reload = () =>
    Promise.all([
      deps.api.listModels().then((list) => {
        models = new Map(list.map((model) => [model.name, model]));
        for (const model of list) guard.note(model.name, model.state);
      }),
      deps.api.health().then((health) => {
        held = health.heldSince !== null;
      }),
    ]).then(schedule, schedule);

  const unsubscribe = deps.api.subscribe((event) => {
    if (event.type === 'model') {
      const model = event.model;
      const notification = notificationFor(models.get(model.name)?.state, model, askedFromTray.has(model.name), deps.endpoint);
      if (notification) deps.notify(notification);
      if (model.state === 'ready' || model.state === 'failed' || model.state === 'stopped') askedFromTray.delete(model.name);
      guard.note(model.name, model.state);
      models.set(model.name, model);
      schedule();
    } else if (event.type === 'config') {
      // Models may have been added or removed; the list keeps the config's order.
      void reload();
    } else if (event.type === 'hold') {
      held = event.heldSince !== null;
      schedule();
    }
  }, ['model', 'config', 'hold']); // not devices/logs: the tray alone must not keep nvidia-smi polling
  tray.on('click', () => actions.openWindow());
  render();
  void reload();

  return {
    refresh: schedule,
    dispose() {
      clearTimeout(timer);
      clearTimeout(progressTimer);
      unsubscribe();
      tray.destroy();
    },
  };
}
