// The tray: its menu, icon state, tooltip and notifications as pure functions of the models'
// states, and the glue that rebuilds it from ManagerApi events (Tray and Menu faked).
import type { Menu, MenuItemConstructorOptions, NativeImage } from 'electron';
import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from 'vitest';
import type { ManagerApi, ManagerEvent, ModelInfo, ModelState } from '../../src-shared/contract.js';
import { ApiError } from '../../src-shared/errors.js';
import { setupTray } from '../../src-main/electron/tray.js';
import { buildTrayMenu, notificationFor, trayStateOf, trayTooltip, type TrayActions, type TrayMenuState, type TrayNotification } from '../../src-main/electron/tray-menu.js';

import { modelInfo } from '../helpers/model-info.js';

const ENDPOINT = 'http://127.0.0.1:8080/v1';
const m = (name: string, state: ModelState, lastError: ModelInfo['lastError'] = null) => ({ name, state, lastError });
const fullModel = (name: string, state: ModelState, message?: string): ModelInfo =>
  modelInfo(name, { state, lastError: message ? { message, exitCode: 1, signal: null, logTail: [], at: 'now' } : null });

const baseState: TrayMenuState = { endpoint: ENDPOINT, startAtLogin: false, startHidden: false, quitting: false, held: false };
const ACTION_NAMES = ['startModel', 'stopModel', 'stopAll', 'setHeld', 'openWindow', 'copyEndpoint', 'openConfigFolder', 'openLogsFolder', 'setStartAtLogin', 'setStartHidden', 'quit'] as const satisfies readonly (keyof TrayActions)[];
type MockedActions = { [K in keyof TrayActions]: Mock<TrayActions[K]> };
const fakeActions = (): MockedActions => Object.fromEntries(ACTION_NAMES.map((name) => [name, vi.fn()])) as unknown as MockedActions;
const item = (menu: MenuItemConstructorOptions[], id: string) => {
  const found = menu.find((i) => i.id === id);
  if (!found) throw new Error(`no menu item ${id} in ${menu.map((i) => i.id ?? i.type).join(', ')}`);
  return found;
};
const click = (entry: MenuItemConstructorOptions) => (entry.click as () => void)();

describe('buildTrayMenu', () => {
  const models = [m('qwen', 'ready'), m('demo', 'stopped'), m('llama', 'starting'), m('embed', 'stopping'), m('broken', 'failed')];

  it('lists each model with its state, a check mark on running ones', () => {
    const menu = buildTrayMenu(models, baseState, fakeActions());
    const rows = models.map((model) => item(menu, `model:${model.name}`));
    expect(rows.map((r) => r.label)).toEqual(['qwen — running', 'demo — stopped', 'llama — starting…', 'embed — stopping…', 'broken — failed']);
    expect(rows.map((r) => r.type)).toEqual(Array(5).fill('checkbox'));
    expect(rows.map((r) => r.checked)).toEqual([true, false, false, false, false]);
    expect(rows.map((r) => r.enabled)).toEqual([true, true, true, false, true]);
  });

  it('toggles on click: stops running and starting models, starts stopped and failed ones', () => {
    const actions = fakeActions();
    const menu = buildTrayMenu(models, baseState, actions);
    for (const name of ['qwen', 'demo', 'llama', 'broken']) click(item(menu, `model:${name}`));
    expect(actions.stopModel.mock.calls).toEqual([['qwen'], ['llama']]);
    expect(actions.startModel.mock.calls).toEqual([['demo'], ['broken']]);
  });

  it('has the fixed items in order, each wired to its action', () => {
    const actions = fakeActions();
    const menu = buildTrayMenu([m('demo', 'ready')], { ...baseState, startAtLogin: true }, actions);
    expect(menu.filter((i) => i.type !== 'separator').map((i) => i.label)).toEqual([
      `Endpoint: ${ENDPOINT}`,
      'demo — running',
      'Stop all',
      'Hold models (for a game)',
      'Open window',
      'Copy endpoint URL',
      'Open config folder',
      'Open logs folder',
      'Start at login',
      'Start in the tray (window hidden)',
      'Quit',
    ]);
    const wiring: [string, keyof TrayActions, unknown[]][] = [
      ['stop-all', 'stopAll', []],
      ['hold', 'setHeld', [true]],
      ['open-window', 'openWindow', []],
      ['copy-endpoint', 'copyEndpoint', []],
      ['open-config-folder', 'openConfigFolder', []],
      ['open-logs-folder', 'openLogsFolder', []],
      ['start-at-login', 'setStartAtLogin', [false]],
      ['start-hidden', 'setStartHidden', [true]],
      ['quit', 'quit', []],
    ];
    for (const [id, action, args] of wiring) {
      click(item(menu, id));
      expect(actions[action], id).toHaveBeenCalledWith(...args);
    }
    expect(item(menu, 'start-at-login').checked).toBe(true);
    expect(item(menu, 'start-hidden')).toMatchObject({ type: 'checkbox', checked: false });
    expect(item(menu, 'hold')).toMatchObject({ type: 'checkbox', checked: false });
    click(item(buildTrayMenu([], { ...baseState, held: true }, actions), 'hold'));
    expect(actions.setHeld).toHaveBeenLastCalledWith(false);
  });

  it('enables Stop all only while something runs or starts', () => {
    expect(item(buildTrayMenu([m('a', 'stopped'), m('b', 'failed')], baseState, fakeActions()), 'stop-all').enabled).toBe(false);
    expect(item(buildTrayMenu([m('a', 'starting')], baseState, fakeActions()), 'stop-all').enabled).toBe(true);
  });

  it('says what to do when there are no models, and leaves out login items where unsupported', () => {
    const menu = buildTrayMenu([], { ...baseState, startAtLogin: null }, fakeActions());
    expect(item(menu, 'no-models')).toMatchObject({ enabled: false, label: 'No models yet — add one in the config' });
    expect(menu.some((i) => i.id === 'start-at-login')).toBe(false);
  });

  it('shows & in names literally and shortens long names', () => {
    const menu = buildTrayMenu([m('R&D', 'stopped'), m('x'.repeat(60), 'stopped')], baseState, fakeActions());
    expect(item(menu, 'model:R&D').label).toBe('R&&D — stopped');
    expect(item(menu, `model:${'x'.repeat(60)}`).label).toBe(`${'x'.repeat(39)}… — stopped`);
  });

  it('disables model items, Stop all and Quit while quitting', () => {
    const menu = buildTrayMenu([m('demo', 'ready')], { ...baseState, quitting: true }, fakeActions());
    expect(item(menu, 'endpoint').label).toBe('Stopping every model…');
    expect([item(menu, 'model:demo').enabled, item(menu, 'stop-all').enabled, item(menu, 'quit').enabled]).toEqual([false, false, false]);
  });
});

describe('tray state, tooltip, notifications', () => {
  it.each([
    [[], 'idle'],
    [[m('a', 'stopped')], 'idle'],
    [[m('a', 'ready'), m('b', 'stopped')], 'running'],
    [[m('a', 'ready'), m('b', 'starting')], 'starting'],
    [[m('a', 'stopping')], 'starting'],
    [[m('a', 'ready'), m('b', 'starting'), m('c', 'failed')], 'error'],
  ] as const)('%j → %s', (models, state) => {
    expect(trayStateOf(models)).toBe(state);
  });

  it('tooltip names the endpoint and counts', () => {
    expect(trayTooltip([m('a', 'ready'), m('b', 'starting'), m('c', 'failed'), m('d', 'stopped')], ENDPOINT)).toBe(`LLM Manager — ${ENDPOINT}\n1 running, 1 starting, 1 failed`);
    expect(trayTooltip([], ENDPOINT)).toBe(`LLM Manager — ${ENDPOINT}\n0 running`);
    expect(trayTooltip([], ENDPOINT, true)).toBe(`LLM Manager — ${ENDPOINT}\n0 running, models held`);
  });

  it('notifies failures always, readiness only for starts asked from the tray', () => {
    const error = { message: 'exited with code 1\nmore', exitCode: 1, signal: null, logTail: [], at: 'now' };
    expect(notificationFor('starting', m('a', 'failed', error), false, ENDPOINT)).toEqual({ title: 'a failed', body: 'exited with code 1' });
    expect(notificationFor('failed', m('a', 'failed', error), false, ENDPOINT)).toBeNull();
    expect(notificationFor('starting', m('a', 'ready'), true, ENDPOINT)).toEqual({ title: 'a is ready', body: `Serving at ${ENDPOINT}` });
    expect(notificationFor('starting', m('a', 'ready'), false, ENDPOINT)).toBeNull();
    expect(notificationFor('ready', m('a', 'stopping'), true, ENDPOINT)).toBeNull();
    expect(notificationFor(undefined, m('a', 'failed'), false, ENDPOINT)?.body).toBe('The engine stopped unexpectedly.');
  });
});

describe('setupTray', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function harness(initial: ModelInfo[], heldAtStart: string | null = null) {
    const listeners = new Set<(event: ManagerEvent) => void>();
    let list = initial;
    const heldSince = { value: heldAtStart };
    const api = {
      listModels: vi.fn(async () => list),
      startModel: vi.fn(async (name: string) => fullModel(name, 'ready')),
      stopModel: vi.fn(async (name: string) => fullModel(name, 'stopped')),
      stopAll: vi.fn(async () => []),
      health: vi.fn(async () => ({ heldSince: heldSince.value })),
      holdModels: vi.fn(async () => ({ heldSince: (heldSince.value = 'now') })),
      releaseModels: vi.fn(async () => ({ heldSince: (heldSince.value = null) })),
      subscribe: (listener: (event: ManagerEvent) => void) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    } as unknown as ManagerApi & { startModel: ReturnType<typeof vi.fn>; listModels: ReturnType<typeof vi.fn>; holdModels: ReturnType<typeof vi.fn>; releaseModels: ReturnType<typeof vi.fn> };
    const tray = {
      images: [] as string[],
      tooltips: [] as string[],
      menus: [] as MenuItemConstructorOptions[][],
      handlers: {} as Record<string, () => void>,
      destroyed: false,
      setImage: (image: NativeImage) => void tray.images.push(image as unknown as string),
      setToolTip: (text: string) => void tray.tooltips.push(text),
      setContextMenu: (menu: Menu) => void tray.menus.push(menu as unknown as MenuItemConstructorOptions[]),
      on: (event: string, handler: () => void) => void (tray.handlers[event] = handler),
      destroy: () => void (tray.destroyed = true),
    };
    const notes: TrayNotification[] = [];
    const openWindow = vi.fn();
    const appTray = setupTray({
      createTray: (image) => {
        tray.images.push(image as unknown as string);
        return tray as never;
      },
      buildMenu: (template) => template as unknown as Menu,
      icon: (state) => `icon:${state}` as unknown as NativeImage,
      notify: (n) => void notes.push(n),
      api,
      endpoint: ENDPOINT,
      settings: () => ({ startAtLogin: false, startHidden: false, quitting: false }),
      actions: { ...fakeActions(), openWindow },
      debounceMs: 100,
    });
    const publish = (event: ManagerEvent) => listeners.forEach((l) => l(event));
    return { api, tray, notes, appTray, publish, listeners, openWindow, setList: (next: ModelInfo[]) => (list = next) };
  }
  const lastMenu = (tray: { menus: MenuItemConstructorOptions[][] }) => tray.menus.at(-1)!;

  it('starts idle, then shows the listed models', async () => {
    const { tray } = harness([fullModel('demo', 'stopped')]);
    expect(tray.images).toEqual(['icon:idle']);
    expect(lastMenu(tray).some((i) => i.id === 'no-models')).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(item(lastMenu(tray), 'model:demo').label).toBe('demo — stopped');
    expect(tray.tooltips.at(-1)).toBe(`LLM Manager — ${ENDPOINT}\n0 running`);
  });

  it('rebuilds once per burst of events, and changes the icon with the state', async () => {
    const { tray, publish } = harness([fullModel('demo', 'stopped')]);
    await vi.advanceTimersByTimeAsync(100);
    const before = tray.menus.length;
    publish({ type: 'model', model: fullModel('demo', 'starting') });
    publish({ type: 'log', model: 'demo', line: { seq: 1, ts: 1, stream: 'stdout', text: 'loading' } });
    publish({ type: 'model', model: fullModel('demo', 'ready') });
    expect(tray.menus.length).toBe(before);
    await vi.advanceTimersByTimeAsync(100);
    expect(tray.menus.length).toBe(before + 1);
    expect(item(lastMenu(tray), 'model:demo').checked).toBe(true);
    expect(tray.images.at(-1)).toBe('icon:running');
  });

  it('starts a model from its menu item and notifies when it is ready; not for starts made elsewhere', async () => {
    const { tray, api, publish, notes } = harness([fullModel('demo', 'stopped'), fullModel('other', 'stopped')]);
    await vi.advanceTimersByTimeAsync(100);
    click(item(lastMenu(tray), 'model:demo'));
    expect(api.startModel).toHaveBeenCalledWith('demo');
    publish({ type: 'model', model: fullModel('demo', 'starting') });
    publish({ type: 'model', model: fullModel('demo', 'ready') });
    publish({ type: 'model', model: fullModel('other', 'starting') });
    publish({ type: 'model', model: fullModel('other', 'ready') });
    expect(notes).toEqual([{ title: 'demo is ready', body: `Serving at ${ENDPOINT}` }]);
    // The next start of demo from the window is not the tray's.
    publish({ type: 'model', model: fullModel('demo', 'stopped') });
    publish({ type: 'model', model: fullModel('demo', 'ready') });
    expect(notes).toHaveLength(1);
  });

  it('drops a click on a model within 0.5 s of its state changing: a double click on Start never cancels it', async () => {
    const { tray, api, publish } = harness([fullModel('demo', 'stopped')]);
    await vi.advanceTimersByTimeAsync(100);
    click(item(lastMenu(tray), 'model:demo'));
    expect(api.startModel).toHaveBeenCalledTimes(1);
    // The second click lands before the state change has even arrived: dropped too.
    click(item(lastMenu(tray), 'model:demo'));
    expect(api.startModel).toHaveBeenCalledTimes(1);
    publish({ type: 'model', model: fullModel('demo', 'starting') });
    await vi.advanceTimersByTimeAsync(100);
    expect(item(lastMenu(tray), 'model:demo').toolTip).toBe('Cancel the start of demo');
    click(item(lastMenu(tray), 'model:demo'));
    expect(api.stopModel).not.toHaveBeenCalled();
    // Once it has shown "starting" for a moment, a click cancels the start.
    await vi.advanceTimersByTimeAsync(500);
    click(item(lastMenu(tray), 'model:demo'));
    expect(api.stopModel).toHaveBeenCalledWith('demo');
  });

  it('notifies a failure, and a refused request that no state change will report', async () => {
    const { tray, api, publish, notes } = harness([fullModel('demo', 'stopped')]);
    await vi.advanceTimersByTimeAsync(100);
    publish({ type: 'model', model: fullModel('demo', 'failed', 'could not launch demo: node: not found') });
    expect(notes).toEqual([{ title: 'demo failed', body: 'could not launch demo: node: not found' }]);
    await vi.advanceTimersByTimeAsync(100);
    expect(tray.images.at(-1)).toBe('icon:error');

    api.startModel.mockRejectedValueOnce(new ApiError(503, 'model_start_failed', 'demo failed'));
    click(item(lastMenu(tray), 'model:demo'));
    await vi.advanceTimersByTimeAsync(0);
    expect(notes).toHaveLength(1); // the "failed" state event tells it
    await vi.advanceTimersByTimeAsync(500); // not the second click of a double click
    api.startModel.mockRejectedValueOnce({ name: 'ApiError', message: 'model "demo" does not exist', status: 404, code: 'model_not_found', type: 'not_found_error' });
    click(item(lastMenu(tray), 'model:demo'));
    await vi.advanceTimersByTimeAsync(0);
    expect(notes.at(-1)).toEqual({ title: "Couldn't start demo", body: 'model "demo" does not exist' });
  });

  it('re-reads the models after a config change, in the config order', async () => {
    const { tray, publish, setList } = harness([fullModel('a', 'stopped')]);
    await vi.advanceTimersByTimeAsync(100);
    setList([fullModel('b', 'stopped'), fullModel('a', 'stopped')]);
    publish({ type: 'config', result: { ok: true, issues: [], added: ['b'], removed: [], changed: [], message: '' } });
    await vi.advanceTimersByTimeAsync(100);
    expect(lastMenu(tray).filter((i) => i.id?.startsWith('model:')).map((i) => i.id)).toEqual(['model:b', 'model:a']);
  });

  it('holds models from its menu, and follows a hold set elsewhere (the window)', async () => {
    const { tray, api, publish } = harness([fullModel('demo', 'ready')], 'since');
    await vi.advanceTimersByTimeAsync(100);
    // Held when the tray came up (an earlier click, the window): it says so.
    expect(item(lastMenu(tray), 'hold').checked).toBe(true);
    click(item(lastMenu(tray), 'hold'));
    expect(api.releaseModels).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(100);
    expect(item(lastMenu(tray), 'hold').checked).toBe(false);
    click(item(lastMenu(tray), 'hold'));
    expect(api.holdModels).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(100);
    expect(item(lastMenu(tray), 'hold').checked).toBe(true);
    expect(tray.tooltips.at(-1)).toContain('models held');
    publish({ type: 'hold', heldSince: null });
    await vi.advanceTimersByTimeAsync(100);
    expect(item(lastMenu(tray), 'hold').checked).toBe(false);
  });

  it('opens the window on a click of the icon; dispose unsubscribes and removes the icon', async () => {
    const { tray, appTray, listeners, openWindow } = harness([]);
    tray.handlers['click']!();
    expect(openWindow).toHaveBeenCalled();
    appTray.dispose();
    expect(listeners.size).toBe(0);
    expect(tray.destroyed).toBe(true);
  });
});

describe('a starting model\'s progress in the tray (#16 item 4)', () => {
  const START = '2026-01-01T00:00:00.000Z';
  const at = (ms: number) => Date.parse(START) + ms;
  const starting = (loading: NonNullable<ModelInfo['loading']>) => ({ name: 'qwen', state: 'starting' as const, startedAt: START, loading });

  it("shows the engine's own progress in the tooltip and the model's menu item", () => {
    const model = starting({ fraction: 0.42, stage: 'loading weights', source: 'engine', elapsedMs: 5000, expectedMs: null });
    expect(trayTooltip([model], ENDPOINT, false, at(5000))).toBe(`LLM Manager — ${ENDPOINT}\n0 running, 1 starting\nqwen: loading 42 % · loading weights`);
    const item = buildTrayMenu([model], baseState, fakeActions(), at(5000)).find((i) => i.id === 'model:qwen')!;
    expect(item.label).toBe('qwen — loading 42 % · loading weights');
  });

  it('moves an estimate with the clock alone, and shows only the time when nothing tells', () => {
    const estimate = starting({ fraction: 0.1, stage: null, source: 'estimate', elapsedMs: 2000, expectedMs: 20_000 });
    expect(buildTrayMenu([estimate], baseState, fakeActions(), at(10_000)).find((i) => i.id === 'model:qwen')!.label).toBe("qwen — loading ~50 % of the last start's 20 s");
    const unknown = starting({ fraction: null, stage: null, source: null, elapsedMs: 0, expectedMs: null });
    expect(trayTooltip([unknown], ENDPOINT, false, at(12_000))).toBe(`LLM Manager — ${ENDPOINT}\n0 running, 1 starting\nqwen: loading 12 s`);
  });
});
