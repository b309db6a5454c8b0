// The GPU-aware ProfileChooser: reads the devices, asks planStart what to do, and does it — stops
// idle engines to make room (their memory counts as free once their processes have exited), waits
// for busy ones to finish their requests, or fails with every profile's reason. Which reading a
// decision uses is reading-policy.ts's rule. Starts that need devices are decided one at a time,
// and what a start was promised stays reserved until its engine's own use is measured, so two
// starts never count the same free memory.
import type { LaunchProfile, ModelConfig } from '../../../src-shared/config.js';
import type { DeviceReading, ModelState } from '../../../src-shared/contract.js';
import { formatDuration } from '../../../src-shared/duration.js';
import type { DeviceState } from '../devices/monitor.js';
import type { Logger } from '../logger.js';
import { profileClaims } from './device-match.js';
import { cudaEnv, planStart, type DevicePick, type EngineView, type Placement } from './placement.js';
import { foreignUse, freedByExit, inFlux, needsNewReading, sawEngine } from './reading-policy.js';
import { NoProfileError, type ProfileChoice, type ProfileChooser } from './profile.js';

/** What the chooser needs of a model's supervisor (ModelSupervisor has all of it). */
export interface SchedulableEngine {
  readonly name: string;
  readonly currentState: ModelState;
  readonly busy: number;
  readonly lastActivityAt: number;
  /** Resolves once its process tree has exited (or outlived SIGKILL: see processGone). */
  stop(reason: string): Promise<void>;
  /** Its process-group leader while it runs. */
  readonly pid?: number | null;
  /** When it turned ready: a reading begun earlier saw only part of its memory. */
  info?(): { readonly readyAt: string | null };
  onChange(listener: () => void): () => void;
  /** At once when its last request in flight ends (onChange may come later); optional. */
  onIdle?(listener: () => void): () => void;
  readonly log?: { system(text: string): void };
  /** Its definition: keep, priority and exclusive_group weigh in placement. */
  readonly model?: Pick<ModelConfig, 'keep' | 'priority' | 'exclusiveGroup'>;
}

export interface DeviceSource {
  /** A reading begun at most `maxAgeMs` ago (0: one begun now). */
  read(maxAgeMs: number): Promise<DeviceState>;
  watch(): () => void;
  onReading(listener: (state: DeviceState) => void): () => void;
}

export interface GpuChooserOptions {
  devices: DeviceSource;
  /** Our engines (the registry's supervisors); a getter, as the registry is built after the chooser. */
  engines: () => Iterable<SchedulableEngine>;
  settings: () => { headroomMb: number; monitoringDisabled: boolean };
  launchProblem: (profile: LaunchProfile) => string | null;
  logger: Logger;
  now?: () => number;
  /** How long to wait, after stopping engines that did not exit cleanly, for their memory to show up as free. */
  freeWaitMs?: number;
  /**
   * A reading begun at most this long ago may decide a start (the monitor's poll interval; default
   * 0: a new one each time). A decision on it that would stop, wait or refuse is taken again on a new one.
   */
  freshMs?: number;
  /** Whether no process of a stopped engine's group (its leader's pid) is left (default: its stop said so). */
  processGone?: (pid: number) => boolean;
}

type WaitPlacement = Extract<Placement, { kind: 'wait' }>;

const FREE_POLL_MS = 200;
const WAIT_RECHECK_MS = 1000;
/** The reading after a start that trusted a stop is taken when it is over and idle, or after this long. */
const SETTLED_READ_MAX_MS = 10_000;

export interface GpuChooser {
  choose: ProfileChooser;
  /** MB per memory id promised to each model's start (for tests and the UI). */
  declared(model: string): Readonly<Record<string, number>> | undefined;
  /**
   * In the decision queue: when `model` would start now without stopping or waiting for anything,
   * runs `start` there (its own decision is queued next, before any other) and resolves true.
   */
  startIfFits(model: ModelConfig, start: () => void): Promise<boolean>;
}

export function createGpuChooser(options: GpuChooserOptions): GpuChooser {
  const now = options.now ?? Date.now;
  const freeWaitMs = options.freeWaitMs ?? 30_000;
  const freshMs = options.freshMs ?? 0;
  const processGone = options.processGone ?? (() => true);
  /** Memory each model's current (or last) start was placed with. */
  const declared = new Map<string, Record<string, number>>();
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const find = (name: string) => [...options.engines()].find((e) => e.name === name);
  /** A device reading, for a model whose profiles claim devices (one without, in an exclusive group, needs none). */
  const reading = (model: ModelConfig, maxAgeMs: number): Promise<DeviceState | null> =>
    model.profiles.some((p) => profileClaims(p).length > 0) ? options.devices.read(maxAgeMs) : Promise.resolve(null);

  const plan = (model: ModelConfig, state: DeviceState | null, devices = state?.snapshot.devices ?? []): Placement =>
    planStart({
      model,
      devices,
      engines: [...options.engines()].filter((e) => e.name !== model.name).map((e) => viewOf(e, state)),
      headroomMb: options.settings().headroomMb,
      monitoringDisabled: options.settings().monitoringDisabled,
      launchProblem: options.launchProblem,
    });

  const viewOf = (e: SchedulableEngine, state: DeviceState | null): EngineView => {
    const readyAt = e.info?.().readyAt;
    return engineView({ ...pick(e), readySince: readyAt === undefined ? undefined : readyAt === null ? null : Date.parse(readyAt) }, state, declared.get(e.name));
  };

  const commit = (model: ModelConfig, placement: Extract<Placement, { kind: 'start' }>): ProfileChoice => {
    declared.set(model.name, reservationOf(placement.picks));
    if (placement.forced) {
      find(model.name)?.log?.system(`GPU monitoring is disabled: starting ${placement.profile.name} anyway (${placement.forcedReason ?? 'it may not fit'})`);
    }
    return { profile: placement.profile, skipped: placement.skipped, env: cudaEnv(placement.profile, placement.picks) };
  };

  // The last readings' memory not ours, to tell a steady card from one in flux (reading-policy.ts).
  const seen: { at: number; foreign: Record<string, number | null> }[] = [];
  const note = (state: DeviceState): void => {
    if (seen.some((e) => e.at === state.at)) return;
    seen.push({ at: state.at, foreign: foreignUse(state.snapshot.devices, (model) => model !== null) });
    seen.sort((a, b) => a.at - b.at);
    if (seen.length > 3) seen.shift();
  };
  options.devices.onReading(note);
  /** No reading before it known: taken as in flux (a new reading decides). */
  const fluxAt = (state: DeviceState): boolean => {
    note(state);
    const i = seen.findIndex((e) => e.at === state.at);
    return i <= 0 || inFlux(seen[i - 1]!.foreign, seen[i]!.foreign);
  };

  /** The placement on a recent reading when it says start (or stop idle engines, on a steady card), else on a new one (reading-policy.ts). */
  const place = async (model: ModelConfig): Promise<{ placement: Placement; state: DeviceState | null }> => {
    const began = now();
    const state = await reading(model, freshMs);
    const placement = plan(model, state);
    if (!state || !needsNewReading(placement, state.at, began, placement.kind === 'evict' && state.at < began && fluxAt(state))) return { placement, state };
    const fresh = await reading(model, 0);
    return { placement: plan(model, fresh), state: fresh };
  };

  /** Inside the queue: decide, and when it takes stopping engines, stop them and count their memory free. */
  const decide = async (model: ModelConfig, deadline: number): Promise<ProfileChoice | WaitPlacement> => {
    const { placement, state } = await place(model);
    if (placement.kind === 'start') return commit(model, placement);
    if (placement.kind === 'none') throw new NoProfileError(model.name, placement.skipped);
    if (placement.kind === 'wait') return placement;

    const victims = placement.victims.map(find).filter((e): e is SchedulableEngine => !!e);
    const group = model.exclusiveGroup;
    const mates = victims.filter((v) => group !== undefined && v.model?.exclusiveGroup === group);
    const forRoom = victims.filter((v) => !mates.includes(v));
    const where = [...new Set(placement.picks.filter((p) => p.needMb > 0).map((p) => p.claim))].join(', ');
    if (mates.length > 0) {
      const names = mates.map((v) => v.name).join(', ');
      options.logger.info(`stopping ${names}: ${model.name} of exclusive_group "${group}" starts`);
      find(model.name)?.log?.system(`stopping ${names} (exclusive_group "${group}")`);
    }
    if (forRoom.length > 0) {
      const names = forRoom.map((v) => v.name).join(', ');
      options.logger.info(`stopping ${names} to make room for ${model.name} on ${where}`);
      find(model.name)?.log?.system(`stopping idle ${names} to make room on ${where}`);
    }
    // What the reading counted each victim holding, before they stop (a stopped engine holds nothing).
    const gone = victims.map((v) => viewOf(v, state));
    const pids = victims.flatMap((v) => (v.pid ? [v.pid] : []));
    // Chosen and stopped in the same turn: no request can slip into a victim in between.
    await Promise.all([
      ...mates.map((v) => v.stop(`${model.name} of exclusive_group "${group}" is starting`)),
      ...forRoom.map((v) => v.stop(`making room for ${model.name} on ${where}`)),
    ]);

    if (pids.every(processGone)) {
      // Every process of theirs has exited: what they held is free, whatever the driver says yet.
      const trusted = plan(model, state, freedByExit(state?.snapshot.devices ?? [], gone));
      if (trusted.kind === 'start') {
        // One reading after the fact, once this start is over and its first requests answered (so
        // nvidia-smi shares no CPU with them): the next decision and the charts see the card as it is.
        readWhenSettled(model.name);
        return commit(model, trusted);
      }
    }
    // Something of theirs is still there, or the room isn't enough after all: wait until the driver reports it.
    const until = Math.min(now() + freeWaitMs, deadline);
    for (;;) {
      const fresh = plan(model, await reading(model, 0));
      if (fresh.kind === 'start') return commit(model, fresh);
      if (now() >= until) return { kind: 'wait', profile: placement.profile, picks: placement.picks, blockers: [], skipped: fresh.skipped };
      await sleep(FREE_POLL_MS);
    }
  };

  const readWhenSettled = (name: string): void => {
    const engine = find(name);
    const offs: (() => void)[] = [];
    let done = false;
    const read = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const off of offs) off();
      void options.devices.read(0).catch(() => undefined);
    };
    const timer = setTimeout(read, SETTLED_READ_MAX_MS);
    timer.unref?.();
    if (!engine) return;
    const check = () => {
      if (engine.currentState !== 'starting' && engine.busy === 0) read();
    };
    offs.push(engine.onChange(check));
    if (engine.onIdle) offs.push(engine.onIdle(check));
  };

  const choose: ProfileChooser = async (model) => {
    if (!model.profiles.some((p) => profileClaims(p).length > 0) && model.exclusiveGroup === undefined) {
      // Nothing to measure or reserve (CPU-only profiles): no reading, no queue.
      const placement = plan(model, null);
      if (placement.kind !== 'start') throw new NoProfileError(model.name, placement.skipped);
      return commit(model, placement);
    }
    const deadline = now() + model.startTimeoutMs;
    const release = options.settings().monitoringDisabled ? () => undefined : options.devices.watch();
    let announced = '';
    try {
      for (;;) {
        const self = find(model.name);
        if (self && self.currentState !== 'starting') throw new Error(`the start of ${model.name} was cancelled`);
        const outcome = await serially(() => decide(model, deadline));
        if (!('kind' in outcome)) return outcome;
        if (now() >= deadline) {
          const gaveUp = `gave up after waiting ${formatDuration(model.startTimeoutMs)} (start_timeout)`;
          throw new NoProfileError(
            model.name,
            outcome.skipped.map((skip) => (skip.profile === outcome.profile.name ? { ...skip, reason: `${skip.reason}; ${gaveUp}` } : skip)),
          );
        }
        const line =
          outcome.blockers.length > 0
            ? `waiting for ${outcome.blockers.join(', ')} to finish before ${outcome.profile.name} fits`
            : `waiting for memory to be freed for ${outcome.profile.name}`;
        if (line !== announced) {
          announced = line;
          self?.log?.system(line);
        }
        await nextChange(options, [...outcome.blockers, model.name], Math.min(WAIT_RECHECK_MS, Math.max(0, deadline - now())));
      }
    } finally {
      release();
    }
  };

  const startIfFits = (model: ModelConfig, start: () => void): Promise<boolean> =>
    serially(async () => {
      const { placement } = await place(model);
      if (placement.kind !== 'start') return false;
      start();
      return true;
    });

  return { choose, declared: (model) => declared.get(model), startIfFits };
}

/** How one of our engines weighs on each memory, from the readings and what its start declared. */
export function engineView(
  engine: Pick<SchedulableEngine, 'name' | 'currentState' | 'busy' | 'lastActivityAt' | 'model'> & { readySince?: number | null },
  state: Pick<DeviceState, 'snapshot' | 'holdersKnown'> & Partial<Pick<DeviceState, 'at'>> | null,
  declared: Readonly<Record<string, number>> | undefined,
): EngineView {
  const live = engine.currentState === 'starting' || engine.currentState === 'ready' || engine.currentState === 'stopping';
  const heldMb: Record<string, number> = {};
  const reservedMb: Record<string, number> = {};
  if (live) {
    const measured = measuredUse(engine.name, state?.snapshot.devices ?? []);
    // A reading begun before it was ready (a recent one, not a new one) has not seen all it takes.
    const seen = engine.currentState !== 'ready' || sawEngine(state?.at ?? null, engine.readySince);
    const ids = new Set([...Object.keys(measured), ...Object.keys(declared ?? {})]);
    for (const id of ids) {
      const known = state?.holdersKnown.has(id) ?? false;
      const use = measured[id] ?? 0;
      const promised = declared?.[id] ?? 0;
      // Where per-process memory isn't reported (plugin devices, Windows WDDM), trust the declaration
      // (the card's use counts it), unless the reading is older than the engine's readiness.
      if (!known && !seen) {
        heldMb[id] = use;
        reservedMb[id] = Math.max(0, promised - use);
        continue;
      }
      heldMb[id] = known ? use : Math.max(use, promised);
      // A running engine counts as the larger of its declaration and its use: the rest stays reserved
      // (an engine that maps its weights lazily reads small until it is used).
      if (engine.currentState === 'starting') reservedMb[id] = known ? Math.max(0, promised - use) : promised;
      else if (engine.currentState === 'ready' && known && promised > use) reservedMb[id] = promised - use;
    }
  }
  const m = engine.model;
  return {
    name: engine.name, state: engine.currentState, busy: engine.busy, lastActivityAt: engine.lastActivityAt, heldMb, reservedMb,
    ...(m?.keep ? { keep: true } : {}),
    ...(m?.priority !== undefined ? { priority: m.priority } : {}),
    ...(m?.exclusiveGroup !== undefined ? { group: m.exclusiveGroup } : {}),
  };
}

/** The fields engineView reads (getters of a supervisor don't survive a spread). */
function pick(e: SchedulableEngine): Pick<SchedulableEngine, 'name' | 'currentState' | 'busy' | 'lastActivityAt' | 'model'> {
  return { name: e.name, currentState: e.currentState, busy: e.busy, lastActivityAt: e.lastActivityAt, ...(e.model ? { model: e.model } : {}) };
}

function measuredUse(model: string, devices: readonly DeviceReading[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const device of devices) {
    for (const holder of device.holders) {
      // Unknown (null) counts as 0 here; engineView then goes by what the start declared.
      if (holder.model === model) out[device.id] = (out[device.id] ?? 0) + (holder.usedMb ?? 0);
    }
  }
  return out;
}

function reservationOf(picks: readonly DevicePick[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pick of picks) if (pick.needMb > 0) out[pick.memoryId] = (out[pick.memoryId] ?? 0) + pick.needMb;
  return out;
}

/** Resolves when one of `watched` changes (a request ended, the start was cancelled), a new reading arrives, or after `ms`. */
function nextChange(options: GpuChooserOptions, watched: readonly string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const done = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const engine of options.engines()) {
      if (!watched.includes(engine.name)) continue;
      offs.push(engine.onChange(done));
      if (engine.onIdle) offs.push(engine.onIdle(done));
    }
    offs.push(options.devices.onReading(done));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
