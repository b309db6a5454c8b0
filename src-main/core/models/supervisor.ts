// One supervisor per model: the single owner of its state (stopped → starting → ready →
// stopping → stopped, or failed) and of its engine process. Everything else asks or listens.
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { LaunchProfile, ModelConfig } from '../../../src-shared/config.js';
import type { ModelError, ModelInfo, ModelState, ProfileSkip } from '../../../src-shared/contract.js';
import { ApiError } from '../../../src-shared/errors.js';
import { formatDuration } from '../../../src-shared/duration.js';
import type { ModelLog } from '../logs/model-log.js';
import { idleDeadline } from '../scheduler/idle.js';
import { failureLines } from './failure-lines.js';
import { derivedMaxConnections, isLlamaServerLaunch } from './connection-limit.js';
import { NoProfileError, type ProfileChoice, type ProfileChooser } from '../scheduler/profile.js';
import { CrashLoopGuard, DEFAULT_FAULT_POLICY, type FaultPolicy } from './faults.js';
import { expandProfile } from '../engines/index.js';
import { LoadProgressReader, loadingInfo } from './load-progress.js';
import type { StartTimeStore } from './start-times.js';
import * as proc from './process.js';
import type { RemoteRoute } from '../upstreams/remote.js';

export interface SupervisorDeps {
  chooseProfile: ProfileChooser;
  spawn: (profile: LaunchProfile, env: NodeJS.ProcessEnv, cwd: string) => ChildProcess;
  describeLaunch: (profile: LaunchProfile) => string;
  probeHealth: (port: number, path: string, timeoutMs?: number, key?: string | null) => Promise<number | null>;
  /** A start's probe while requests wait: on a kept-alive connection, handed over when it finds the engine ready (proc.probeReady). */
  probeReady?: (port: number, path: string, timeoutMs?: number, key?: string | null) => Promise<proc.ReadyProbe>;
  isPortInUse: (port: number) => Promise<boolean>;
  signalTree: (pid: number, signal: NodeJS.Signals) => void;
  treeAlive: (pid: number) => boolean;
  now: () => number;
  baseEnv: NodeJS.ProcessEnv;
  defaultCwd: string;
  /** The key a new engine gets (program.engine_keys on), or null. */
  engineKey?: () => string | null;
  /** Crash-loop backoff and hang detection timings (tests shrink them). */
  faults?: Partial<FaultPolicy>;
  /** Told of every engine process started and gone, for the orphan reaper (engine-ledger.ts). */
  ledger?: { add(entry: { model: string; pid: number; command: string }): void; remove(pid: number): void };
  /** A free port for a model without one (program.engine_ports); held until releasePort. */
  allocatePort?: (model: string) => Promise<number>;
  releasePort?: (model: string, port: number) => void;
  /** How long each model's last successful start took, kept across runs (start-times.ts): a start's progress is estimated from it. */
  startTimes?: StartTimeStore;
  /** What upstream profiles are checked, loaded and unloaded with (Ollama's keep_alive); default the global fetch. */
  fetch?: typeof fetch;
}

export function processDeps(overrides: Partial<SupervisorDeps> & Pick<SupervisorDeps, 'chooseProfile' | 'defaultCwd'>): SupervisorDeps {
  return {
    spawn: (profile, env, cwd) => proc.spawnEngine(proc.launchCommandFor(profile), { env, cwd }),
    describeLaunch: (profile) => {
      const launch = proc.launchCommandFor(profile);
      return [launch.file, ...launch.args].join(' ');
    },
    probeHealth: proc.probeHealth,
    probeReady: proc.probeReady,
    isPortInUse: (port) => proc.isPortInUse(port),
    signalTree: proc.signalTree,
    treeAlive: proc.treeAlive,
    now: Date.now,
    baseEnv: process.env,
    ...overrides,
  };
}

/** Answered to every request waiting on a start that failed or was cancelled. */
export class StartError extends ApiError {
  constructor(message: string, code = 'model_start_failed') {
    super(503, code, message);
  }
}

const LOG_TAIL_ON_FAILURE = 20;
/** Readiness probes: fast at first (a small model is ready in well under a second), then calmer. */
const PROBE_FAST_MS = 25;
const PROBE_SLOW_MS = 100;
const PROBE_FAST_WINDOW_MS = 3000;
/** The longest pause between probes of a loading engine that announces its readiness (its line wakes the probe). */
const PROBE_CALM_MAX_MS = 1000;
/**
 * While nothing listens on the port (the connection is refused: the engine loads before it binds),
 * a probe costs the engine nothing (the kernel refuses it) and us a few tens of µs: then the pause
 * is 0.5 % of the time waited so far (at least 2 ms, at most the schedule above), so an engine that
 * binds when ready is noticed within a few ms of it, a start of 60 s takes some 1,400 probes.
 */
const PROBE_REFUSED_MIN_MS = 2;
const PROBE_REFUSED_SHARE = 0.005;
/**
 * While it answers 503 (llama-server's "Loading model": alive, listening, loading) each probe is a
 * request it serves and maybe logs: the pause grows to 2 % of the time waited (at least the fast
 * 25 ms, at most 500 ms), so a 60 s load takes some 270 probes instead of 690, and readiness is
 * noticed about 1 % of the load later on average (a load under 1.25 s: no change).
 */
const PROBE_LOADING_SHARE = 0.02;
const PROBE_LOADING_MAX_MS = 500;
/**
 * Asked when health_path answers 404 (an OpenAI-compatible server without /health): its model list
 * answering 200 means it serves. llama.cpp, vLLM and SGLang all have /health; others may not.
 */
const FALLBACK_READY_PATH = '/v1/models';
/** How old the answer to "does anybody listen on the model's port?" may be when the spawn comes (see runStart). */
const EARLY_PORT_CHECK_MS = 250;
/** After the leader exits, how long leftover children get before we stop waiting for them. */
const LEFTOVER_KILL_WAIT_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const READY_HINT = /listening|ready|started|startup complete|running on|serving/i;
/** Where an engine says which port it listens on: llama-server's "listening on http://127.0.0.1:N", uvicorn's (vLLM, SGLang) "Uvicorn running on http://0.0.0.0:N". */
const LISTEN_LINE = /(?:listening on|Uvicorn running on)\s+https?:\/\/(?:\[[^\]\s]*\]|[^\s/:]+):(\d{1,5})/i;

interface Running {
  child: ChildProcess;
  pid: number;
  /** What the router must send to this engine (it was started with it); null = nothing. */
  key: string | null;
  exited: Promise<void>;
  hasExited: boolean;
}

export class ModelSupervisor {
  private state: ModelState = 'stopped';
  private running: Running | null = null;
  /** Bumped by every start and stop; late callbacks of an older attempt see it and do nothing. */
  private generation = 0;
  /** See takeReadyConnection. */
  private readyConnection: Socket | null = null;
  private startWaiters: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | null = null;
  private stopPromise: Promise<void> | null = null;
  private inFlight = 0;
  private lastActivity = 0;
  private lastUsed: number | null = null;
  private startedAt: number | null = null;
  private readyAt: number | null = null;
  private lastError: ModelError | null = null;
  private profileName: string | null = null;
  private skipped: ProfileSkip[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  /** When the armed idle timer fires (deps.now() time). */
  private idleTimerDue = 0;
  private emitTimer: NodeJS.Timeout | null = null;
  private wakeProbe: (() => void) | null = null;
  /** The first log seq of the current run: a failure shows this run's lines, never the last run's. */
  private runFromSeq = 0;
  /**
   * Learned: this engine says when it turns ready (a line READY_HINT matches woke the probe that
   * found it ready). Then, while it answers "loading", it is probed calmly instead of every 25 ms:
   * engines log each probe, and its line wakes the probe anyway.
   */
  private saysWhenReady = false;
  private wokenByHint = false;
  /** What the launch in use implies for maxConnections (null: not worked out yet). */
  private derivedConnections: number | null = null;
  /** Since the node started, for /metrics. */
  private readonly tally = { requests: 0, starts: 0, failures: 0, lastStartMs: null as number | null };
  /** What the health check answered last while starting (null: no answer), for the timeout's message. */
  private lastStartProbe: number | null = null;
  private pendingConfig: ModelConfig | null = null;
  /** The port of the current (or last) run: the configured one, or one allocated for it. */
  private runPort: number | null = null;
  /** runPort came from deps.allocatePort and goes back when the run ends. */
  private portAllocated = false;
  /** The command line of the current (or last) run, macros expanded. */
  private launchText: string | null = null;
  private readonly listeners = new Set<(info: ModelInfo) => void>();
  private readonly idleListeners = new Set<() => void>();
  private readonly faults: FaultPolicy;
  private readonly crashLoop: CrashLoopGuard;
  /** Requests waiting in ensureReady for a start (bounded by the caller's queueLimit). */
  private waiting = 0;
  private healthTimer: NodeJS.Timeout | null = null;
  private healthCheckRunning = false;
  /** The current start's progress as its engine's output tells it (null: not starting). */
  private progress: LoadProgressReader | null = null;
  /** While ready through an upstream profile (#16): where requests go instead of an engine's port. */
  private remoteRun: RemoteRoute | null = null;
  /** What a peer says of this model (its /api/models): shown instead of the reachability while it is reachable. */
  private remoteView: Pick<ModelInfo, 'state' | 'loading' | 'inFlight' | 'vramMb'> | null = null;

  constructor(
    private config: ModelConfig,
    readonly log: ModelLog,
    private readonly deps: SupervisorDeps,
  ) {
    this.faults = { ...DEFAULT_FAULT_POLICY, ...deps.faults };
    this.crashLoop = new CrashLoopGuard(() => this.faults);
  }

  get name(): string {
    return this.config.name;
  }

  get model(): ModelConfig {
    return this.config;
  }

  /** The newest definition: a saved change waiting for the engine to go idle, else the current one. */
  get latestConfig(): ModelConfig {
    return this.pendingConfig ?? this.config;
  }

  get currentState(): ModelState {
    return this.state;
  }

  /** The port the engine listens on: the one of the current run, else the configured one (0: none yet). */
  get port(): number {
    return this.runPort ?? this.config.port ?? 0;
  }

  /** Requests acquired, starts begun, times failed, and how long the last start took (ms). */
  get counters(): Readonly<{ requests: number; starts: number; failures: number; lastStartMs: number | null }> {
    return this.tally;
  }

  /**
   * Connections the router may hold open to this engine at once: max_connections, else what the
   * launch in use (or the first profile, before a start) implies (models/connection-limit.ts).
   */
  get maxConnections(): number {
    return this.config.maxConnections ?? (this.derivedConnections ??= derivedMaxConnections(this.config.profiles[0]!));
  }

  /**
   * Whether this engine's answers carry llama-server's `timings` (token counts and speed): its launch
   * runs llama-server, or an answer has shown them. The router then needn't ask for usage.
   */
  get sendsTimings(): boolean {
    return (this.timingsSeen ??= isLlamaServerLaunch(this.config.profiles[0]!));
  }

  /** What a finished stream showed: `timings` or none (then the router asks for usage again). */
  noteTimings(seen: boolean): void {
    this.timingsSeen = seen;
  }

  private timingsSeen: boolean | undefined;

  /** maxConnections as a function, made once (the router reads it per new engine connection). */
  readonly connectionLimit = (): number => this.maxConnections;

  /** Requests now being answered by (or waiting for) this engine. */
  get busy(): number {
    return this.inFlight;
  }

  /** pid of the engine's process-group leader while one runs. */
  get pid(): number | null {
    return this.running?.pid ?? null;
  }

  /** The key the running engine was started with (program.engine_keys), for the router to send. */
  get engineKey(): string | null {
    return this.running?.key ?? null;
  }

  /** End of the last request (or readiness): least-recently-used order for eviction. */
  get lastActivityAt(): number {
    return this.lastActivity;
  }

  onChange(listener: (info: ModelInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Told at once when the last request in flight ends (onChange comes up to 100 ms later): a start
   * waiting for this engine's memory stops it without that wait.
   */
  onIdle(listener: () => void): () => void {
    this.idleListeners.add(listener);
    return () => this.idleListeners.delete(listener);
  }

  info(): ModelInfo {
    const deadline = this.state === 'ready' ? idleDeadline({ aliveTimeMs: this.idleAliveMs, inFlight: this.inFlight, lastActivity: this.lastActivity }) : null;
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      name: this.config.name,
      aliases: [...this.latestConfig.aliases],
      mode: this.config.mode,
      port: this.remoteRun ? null : this.runPort ?? this.config.port,
      launch: this.launchText,
      state: this.state,
      autoStart: this.config.autoStart,
      pid: this.running?.pid ?? null,
      profile: this.profileName,
      skippedProfiles: [...this.skipped],
      startedAt: iso(this.startedAt),
      readyAt: iso(this.readyAt),
      lastUsed: iso(this.lastUsed),
      inFlight: this.inFlight,
      idleStopAt: iso(deadline),
      aliveTimeMs: this.config.aliveTimeMs,
      lastError: this.lastError,
      vramMb: null,
      loading: this.state === 'starting' ? loadingInfo(this.progress?.current ?? null, this.startedAt ?? this.deps.now(), this.deps.now(), this.expectedStartMs) : null,
      ...(this.config.keep ? { keep: true } : {}),
      ...(this.config.resident ? { resident: true } : {}),
      ...(this.config.exclusiveGroup !== undefined ? { exclusiveGroup: this.config.exclusiveGroup } : {}),
      ...this.upstreamInfo(),
    };
  }

  /** How long the last successful start took (this run's, else the one remembered on disk). */
  get expectedStartMs(): number | null {
    return this.tally.lastStartMs ?? this.deps.startTimes?.get(this.config.name) ?? null;
  }

  /** alive_time as the idle timer applies it: models that stay (keep, resident) are never stopped for idleness. */
  private get idleAliveMs(): number {
    return this.config.keep || this.config.resident ? 0 : this.config.aliveTimeMs;
  }

  /**
   * Resolves once the engine is ready, starting it if needed. However many callers arrive while
   * it starts, they all wait on the one start.
   */
  async ensureReady(options: { queueLimit?: number } = {}): Promise<void> {
    if (this.currentState === 'ready') return;
    const refused = this.refusalNow(options.queueLimit);
    if (refused) throw refused;
    this.waiting++;
    try {
      for (;;) {
        switch (this.state) {
          case 'ready':
            return;
          case 'starting':
            return await this.startWaiters!.promise;
          case 'stopping':
            await this.stopPromise;
            continue;
          case 'stopped':
          case 'failed': {
            const paused = this.pauseRefusal();
            if (paused) throw paused;
            return await this.beginStart();
          }
        }
      }
    } finally {
      this.waiting--;
    }
  }

  /**
   * Whether ensureReady({ queueLimit }) would wait (or start) now rather than refuse at once: the
   * crowd waiting on a start is below the limit and no restart pause holds a stopped or failed model.
   */
  takesWaiter(queueLimit?: number): boolean {
    return this.refusalNow(queueLimit) === null;
  }

  /** What ensureReady({ queueLimit }) refuses with at once, or null. */
  private refusalNow(queueLimit: number | undefined): ApiError | null {
    // A crowd waiting on one start is bounded: past the limit, callers are told to come back.
    if (queueLimit !== undefined && this.waiting >= queueLimit) {
      return new ApiError(503, 'model_queue_full', `${this.waiting} requests are already waiting for ${this.config.name} to start; retry shortly`, 'service_unavailable', 2);
    }
    return this.state === 'stopped' || this.state === 'failed' ? this.pauseRefusal() : null;
  }

  /** The restart pause's refusal while the crash-loop guard holds a stopped or failed model back, or null. */
  private pauseRefusal(): ApiError | null {
    const pause = this.crashLoop.remaining(this.deps.now());
    return pause > 0 ? this.backoffError(pause) : null;
  }

  /**
   * Someone asked for the running model without a request (an explicit start of a ready one, a
   * warm-up before a batch): its idle countdown starts over, as after a request.
   */
  touch(): void {
    if (this.state !== 'ready') return;
    this.lastActivity = this.lastUsed = this.deps.now();
    if (this.inFlight === 0) this.scheduleIdleStop();
    this.emitSoon();
  }

  /** An explicit start by a person (window, /api): forget the crash loop and try again now. */
  clearBackoff(): void {
    if (this.crashLoop.remaining(this.deps.now()) > 0) this.log.system(`restart pause cleared by an explicit start`);
    this.crashLoop.clear();
  }

  /**
   * The router could not connect to a ready engine (ECONNREFUSED): check its health at once, and
   * if it does not answer, treat it as hung so the next request starts a fresh one.
   */
  reportUnreachable(): void {
    if (this.state !== 'ready' || this.healthCheckRunning) return;
    if (this.remoteRun) return void this.checkRemoteNow(this.generation);
    const generation = this.generation;
    this.healthCheckRunning = true;
    void this.deps
      .probeHealth(this.port, this.config.healthPath, this.faults.healthTimeoutMs, this.engineKey)
      .then((status) => {
        if (status === null && generation === this.generation && this.state === 'ready') {
          this.onHung(generation, `${this.config.name} refused a connection and does not answer its health check`);
        }
      })
      .finally(() => {
        this.healthCheckRunning = false;
      });
  }

  /**
   * Marks a request in flight: an engine with one is never stopped for idleness. Call before
   * ensureReady so the idle timer can't fire between "ready" and the request reaching the engine.
   */
  acquire(announce = true, counts = true): () => void {
    this.inFlight++;
    if (counts) this.tally.requests++;
    this.lastUsed = this.deps.now();
    // The idle timer is left armed: when it fires it finds a request in flight and does nothing
    // (the release arms it again), so a request costs no timer change here.
    if (announce) this.emitSoon();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.lastActivity = this.lastUsed = this.deps.now();
      if (this.inFlight === 0) {
        this.becameIdle(true);
        if (this.idleListeners.size > 0) for (const listener of [...this.idleListeners]) listener();
      }
      this.emitSoon();
    };
  }

  /** Counts a request that held the engine with acquire(_, false) and ended before going on (it left, its start failed). */
  countRequest(): void {
    this.tally.requests++;
  }

  /**
   * Tells listeners soon that requests are in flight, for a caller that acquired without announcing
   * (the fast path announces once the answer has started, off the request's way to the engine).
   */
  announce(): void {
    this.emitSoon();
  }

  /** Stops the engine (its whole process tree); resolves once every process of it has exited. */
  stop(reason = 'stop requested'): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    if (this.state === 'stopped' || (this.state === 'failed' && !this.running)) return Promise.resolve();
    this.stopPromise = this.runStop(reason).finally(() => {
      this.stopPromise = null;
    });
    return this.stopPromise;
  }

  /**
   * A new definition from a config reload. A stopped engine takes it at once, and so does a running
   * one when only what the node itself acts on changed (aliases, alive_time, auto_start, timeouts):
   * reloading a model's weights for a new alias would cost the user a minute. A running engine
   * whose launch changed (port, mode, health path, profiles) restarts with it as soon as no request
   * is in flight. Says which of these happened.
   */
  reconfigure(config: ModelConfig): 'unchanged' | 'applied' | 'restart-when-idle' {
    if (isDeepStrictEqual(config, this.config)) {
      this.pendingConfig = null;
      return 'unchanged';
    }
    if (this.state === 'stopped' || this.state === 'failed' || sameLaunch(config, this.config)) {
      const aliveTimeChanged = config.aliveTimeMs !== this.config.aliveTimeMs || !config.keep !== !this.config.keep || !config.resident !== !this.config.resident;
      this.config = config;
      this.pendingConfig = null;
      if (aliveTimeChanged && this.state === 'ready' && this.inFlight === 0) this.scheduleIdleStop();
      this.emit();
      return 'applied';
    }
    this.pendingConfig = config;
    this.log.system(`configuration changed; ${this.config.name} will restart when idle`);
    if (this.inFlight === 0 && this.state === 'ready') this.becameIdle();
    return 'restart-when-idle';
  }

  // ---- start ---------------------------------------------------------------------------------

  private beginStart(): Promise<void> {
    const generation = ++this.generation;
    this.tally.starts++;
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // callers handle it; never an unhandled rejection
    this.startWaiters = { promise, resolve, reject };
    this.state = 'starting';
    this.startedAt = this.deps.now();
    this.readyAt = null;
    this.lastError = null;
    this.progress = new LoadProgressReader();
    this.emit();
    void this.runStart(generation);
    return promise;
  }

  private async runStart(generation: number): Promise<void> {
    const model = this.config;
    // A failure before the spawn has no engine lines of its own: none of the last run's are shown.
    this.runFromSeq = Number.MAX_SAFE_INTEGER;
    // The model's own port is checked while the profile is chosen (a swap stops another engine
    // meanwhile; no two models share a fixed port): an answer still recent when the choice comes is
    // taken, an older one is asked again (one connection to a stranger on the port, not two).
    const early = model.port !== null ? { at: this.deps.now(), inUse: this.deps.isPortInUse(model.port) } : null;
    let choice;
    try {
      choice = await this.deps.chooseProfile(model);
    } catch (err) {
      if (err instanceof NoProfileError) this.skipped = err.skipped;
      return this.failStart(generation, (err as Error).message, null, null);
    }
    if (generation !== this.generation) return;
    if (choice.profile.upstream) {
      // A server we don't spawn: ready once it answers; else the next profile in file order.
      const local = await this.connectUpstream(generation, model, choice);
      if (local === null) return;
      choice = local;
    }
    this.profileName = choice.profile.name;
    this.skipped = choice.skipped;

    let port: number;
    if (model.port !== null) {
      port = model.port;
    } else {
      try {
        if (!this.deps.allocatePort) throw new Error('no port range to allocate from');
        port = await this.deps.allocatePort(model.name);
      } catch (err) {
        return this.failStart(generation, `no free port for ${model.name}: ${(err as Error).message}; widen program.engine_ports or give ${model.name} a port`, null, null);
      }
      if (generation !== this.generation) return this.deps.releasePort?.(model.name, port);
      this.portAllocated = true;
    }
    this.runPort = port;

    const recent = early !== null && port === model.port && this.deps.now() - early.at <= EARLY_PORT_CHECK_MS;
    if (recent ? await early.inUse : await this.deps.isPortInUse(port)) {
      return this.failStart(
        generation,
        `port ${port} is already in use by another process (not one LLM Manager started); stop that process or give ${model.name} another port`,
        null,
        null,
      );
    }
    if (generation !== this.generation) return;

    const key = this.deps.engineKey?.() ?? null;
    // ${PORT}, ${MODEL_NAME}, ${MODEL_PATH} in args and env: the port is written once, in one place.
    const profile = expandProfile(choice.profile, { PORT: String(port), MODEL_NAME: model.name, ...(choice.profile.modelPath !== undefined ? { MODEL_PATH: choice.profile.modelPath } : {}) });
    const env: NodeJS.ProcessEnv = {
      ...this.deps.baseEnv,
      ...choice.env,
      ...profile.env,
      PORT: String(port),
      LLM_PORT: String(port),
      MODEL_NAME: model.name,
      ...(profile.modelPath !== undefined ? { MODEL_PATH: profile.modelPath } : {}),
      ...(key ? { LLAMA_API_KEY: key, VLLM_API_KEY: key, LLM_MANAGER_ENGINE_KEY: key } : {}),
    };
    let child: ChildProcess;
    try {
      this.launchText = this.deps.describeLaunch(profile);
      this.log.system(`starting ${model.name} (profile ${profile.name}, port ${port}): ${this.launchText}`);
      this.runFromSeq = this.log.tail(1)[0]?.seq ?? 0;
      this.derivedConnections = derivedMaxConnections(profile);
      child = this.deps.spawn(profile, env, profile.cwd ?? this.deps.defaultCwd);
    } catch (err) {
      return this.failStart(generation, `could not launch ${model.name}: ${(err as Error).message}`, null, null);
    }

    const running: Running = { child, pid: child.pid ?? -1, key, exited: Promise.resolve(), hasExited: false };
    running.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        running.hasExited = true;
        this.log.flush();
        this.onExit(generation, running, code, signal);
        resolve();
      });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      // ENOENT and friends: spawn itself failed and no 'exit' will follow.
      if (running.pid === -1 || err.code === 'ENOENT' || err.code === 'EACCES') {
        running.hasExited = true;
        const hint = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'permission denied' : err.message;
        void this.failStart(generation, `could not launch ${model.name}: ${this.launchText ?? profile.name}: ${hint}`, null, null);
      }
    });
    if (running.pid === -1) return; // the 'error' event reports it
    this.running = running;
    this.deps.ledger?.add({ model: model.name, pid: running.pid, command: this.launchText ?? profile.name });
    void running.exited.then(() => this.forgetWhenGone(running.pid));
    const progress = this.progress;
    const onOutput = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      this.log.write(stream, chunk);
      // While it loads, what it prints says how far it is (the window's progress bar); not after.
      if (this.state === 'starting' && progress && progress === this.progress && progress.feed(stream, chunk.toString())) this.emitSoon();
      // Engines print "listening" / "startup complete" just as they turn ready: probe right away.
      // (Not on every line: engines log our own health probes, which would make a busy loop.)
      // An engine told another port than the model's would never answer on it: fail now, naming both.
      const heard = this.state === 'starting' ? LISTEN_LINE.exec(chunk.toString()) : null;
      if (heard && Number(heard[1]) !== port && generation === this.generation) {
        void this.failWrongPort(generation, running, Number(heard[1]), port);
        return;
      }
      if (this.state === 'starting' && READY_HINT.test(chunk.toString()) && !chunk.includes(model.healthPath)) {
        this.wokenByHint = true;
        this.wakeProbe?.();
      }
    };
    child.stdout?.on('data', onOutput('stdout'));
    child.stderr?.on('data', onOutput('stderr'));
    this.emit();

    const timeout = setTimeout(() => {
      void this.onStartTimeout(generation, running);
    }, Math.min(model.startTimeoutMs, MAX_TIMER_MS));
    try {
      await this.waitHealthy(generation, model);
    } finally {
      clearTimeout(timeout);
    }
  }

  private async waitHealthy(generation: number, model: ModelConfig): Promise<void> {
    const began = this.deps.now();
    this.lastStartProbe = null;
    let calm = PROBE_FAST_MS;
    this.wokenByHint = false;
    /** Its ready line came in this start: from then on the usual schedule (it may bind a moment later). */
    let heard = false;
    while (generation === this.generation && this.state === 'starting') {
      const woken = this.wokenByHint;
      this.wokenByHint = false;
      heard ||= woken;
      // While requests wait, the probe that finds it ready keeps its connection for the first of
      // them (takeReadyConnection).
      const { status, socket } =
        this.inFlight > 0 && this.deps.probeReady
          ? await this.deps.probeReady(this.port, model.healthPath, undefined, this.engineKey)
          : { status: await this.deps.probeHealth(this.port, model.healthPath, undefined, this.engineKey), socket: null };
      if (generation !== this.generation || this.state !== 'starting') return void socket?.destroy();
      if (status === 200) {
        if (woken) this.saysWhenReady = true;
        this.readyConnection = socket;
        return this.onReady(generation);
      }
      this.lastStartProbe = status;
      if (status === 404 && model.healthPath !== FALLBACK_READY_PATH) {
        const fallback = await this.deps.probeHealth(this.port, FALLBACK_READY_PATH, undefined, this.engineKey);
        if (generation !== this.generation || this.state !== 'starting') return;
        if (fallback === 200) {
          this.log.system(`GET ${model.healthPath} answers 404, GET ${FALLBACK_READY_PATH} answers 200: taking that as ready (set health_path to the engine's own check)`);
          return this.onReady(generation);
        }
      }
      // A ready line came while that probe was on its way: ask again at once.
      if (this.wokenByHint) continue;
      const waited = this.deps.now() - began;
      let interval = waited < PROBE_FAST_WINDOW_MS ? PROBE_FAST_MS : PROBE_SLOW_MS;
      // An engine known to announce its readiness is asked less and less often until its line comes
      // (which wakes the probe): refused connections cost it no log line, but dense probes share the
      // CPU with its start (a swap measured 50 refused probes in B's first 220 ms, each an HTTP
      // request object of ours). Otherwise, listening and loading (it answered 503) is asked by the
      // time waited, and nothing listening yet (null) often (PROBE_REFUSED_SHARE).
      if (this.saysWhenReady && (status !== null || !heard)) interval = calm = Math.min(calm * 2, PROBE_CALM_MAX_MS);
      else if (status === null) interval = Math.min(interval, Math.max(PROBE_REFUSED_MIN_MS, waited * PROBE_REFUSED_SHARE));
      else if (status === 503) interval = Math.min(PROBE_LOADING_MAX_MS, Math.max(PROBE_FAST_MS, waited * PROBE_LOADING_SHARE));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, interval);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wakeProbe = done;
      });
      this.wakeProbe = null;
    }
  }

  private onReady(generation: number): void {
    if (generation !== this.generation) return;
    this.state = 'ready';
    this.readyAt = this.lastActivity = this.deps.now();
    const ms = this.readyAt - (this.startedAt ?? this.readyAt);
    this.tally.lastStartMs = ms;
    this.progress = null;
    this.log.system(this.remoteRun ? `${this.config.name} is ready (${formatDuration(ms)}, ${this.remoteRun.label})` : `${this.config.name} is ready (${formatDuration(ms)}, pid ${this.running?.pid ?? '?'}, port ${this.port})`);
    this.startWaiters?.resolve();
    this.startWaiters = null;
    if (this.remoteRun) this.scheduleRemoteCheck(generation);
    else this.scheduleHealthCheck(generation, 0);
    if (this.inFlight === 0) this.becameIdle();
    // The requests that waited go out first (they continue before the loop's next phase); what only
    // tells of it follows: the start time kept on disk, and the listeners (the window, the tray),
    // which are told the state as it is then. 0.3-0.5 ms of a swap's first answer, measured.
    setImmediate(() => {
      // The probe's connection, when no request that waited took it: a health check holds no engine thread.
      this.readyConnection?.destroy();
      this.readyConnection = null;
      this.deps.startTimes?.record(this.config.name, ms);
      this.emit();
    });
  }

  /**
   * The connection of the probe that found the engine ready, for the first request that waited
   * (once; null when there is none): its answer was read whole and the engine keeps it open. It is
   * closed at the end of the turn in which the engine turned ready if no request took it.
   */
  takeReadyConnection(): Socket | null {
    const socket = this.readyConnection;
    this.readyConnection = null;
    return socket && !socket.destroyed && this.state === 'ready' ? socket : null;
  }

  private async onStartTimeout(generation: number, running: Running): Promise<void> {
    if (generation !== this.generation || this.state !== 'starting') return;
    const seconds = formatDuration(this.config.startTimeoutMs);
    this.log.system(`not ready after ${seconds}; stopping it`);
    this.generation++;
    await this.terminate(running, this.config.stopTimeoutMs);
    const last = this.lastStartProbe;
    const probe = last === null ? `GET ${this.config.healthPath} never answered` : `GET ${this.config.healthPath} last answered ${last}`;
    const hint = last === 404 ? 'set health_path to a path the engine serves' : 'check its log, or raise start_timeout';
    this.setFailed(`${this.config.name} was not ready within the start timeout (${seconds}): ${probe}; ${hint}`, null, null, true);
  }

  private async failWrongPort(generation: number, running: Running, heard: number, port: number): Promise<void> {
    if (generation !== this.generation || this.state !== 'starting') return;
    this.generation++;
    const message =
      `${this.config.name} listens on port ${heard}, but its port is ${port}: the launch gives the engine another port than the model's ` +
      `(write \${PORT} in its args or "$PORT" / %PORT% in its script instead of a number, or set the model's port to ${heard})`;
    this.log.system(message);
    await this.terminate(running, this.config.stopTimeoutMs);
    if (this.running === running) this.running = null;
    this.setFailed(message, null, null);
  }

  private async failStart(generation: number, message: string, exitCode: number | null, signal: string | null): Promise<void> {
    if (generation !== this.generation) return;
    this.generation++;
    this.log.system(message);
    this.setFailed(message, exitCode, signal);
  }

  // ---- exit and stop -------------------------------------------------------------------------

  private onExit(generation: number, running: Running, code: number | null, signal: NodeJS.Signals | null): void {
    const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
    this.log.system(`process ${running.pid} exited (${how})`);
    if (generation !== this.generation) return; // a stop or timeout owns this exit
    const wasReady = this.state === 'ready';
    this.generation++;
    this.clearHealthTimer();
    // The leader died: its children (a script's engine) must not linger holding the port and VRAM.
    if (this.deps.treeAlive(running.pid)) this.deps.signalTree(running.pid, 'SIGKILL');
    const message = wasReady
      ? `${this.config.name} exited unexpectedly (${how})`
      : `${this.config.name} exited before it was ready (${how})`;
    void this.waitGone(running, LEFTOVER_KILL_WAIT_MS).then(() => {
      if (this.running === running) this.running = null;
      this.setFailed(message, code, signal, true);
    });
  }

  /** `engineFault`: an engine we spawned died, hung or never got ready (counts toward a crash loop). */
  private setFailed(message: string, exitCode: number | null, signal: string | null, engineFault = false): void {
    const lines = failureLines(this.log.tail(LOG_TAIL_ON_FAILURE * 10), this.runFromSeq, [this.config.healthPath, FALLBACK_READY_PATH], LOG_TAIL_ON_FAILURE);
    const logTail = lines.tail;
    const pause = engineFault ? this.crashLoop.recordFailure(this.deps.now(), this.readyAt) : 0;
    if (pause > 0) {
      message = `${message} — ${this.crashLoop.recentFailures} failures within ${formatDuration(this.faults.crashLoopWindowMs)}: automatic restarts paused for ${formatDuration(pause)}`;
      this.log.system(message);
    }
    this.lastError = { message, exitCode, signal, logTail, errorLines: lines.errors, at: new Date(this.deps.now()).toISOString() };
    this.tally.failures++;
    if (this.running?.hasExited) this.running = null;
    this.remoteRun = null;
    this.releaseRunPort();
    this.state = 'failed';
    this.readyAt = null;
    this.clearIdleTimer();
    this.clearHealthTimer();
    const tailText = logTail.length > 0 ? `\nlast log lines:\n${logTail.join('\n')}` : '';
    this.startWaiters?.reject(new StartError(`${message}${tailText}`));
    this.startWaiters = null;
    this.applyPendingConfig();
    this.emit();
  }

  private async runStop(reason: string): Promise<void> {
    const running = this.running;
    const wasStarting = this.state === 'starting';
    this.generation++;
    this.clearIdleTimer();
    this.clearHealthTimer();
    this.state = 'stopping';
    this.log.system(`stopping ${this.config.name}: ${reason}`);
    this.emit();
    if (wasStarting) {
      this.startWaiters?.reject(new StartError(`the start of ${this.config.name} was cancelled: ${reason}`, 'model_start_cancelled'));
      this.startWaiters = null;
    }
    if (running) await this.terminate(running, this.config.stopTimeoutMs);
    if (this.running === running) this.running = null;
    if (this.remoteRun) await this.disconnectUpstream(this.remoteRun);
    this.releaseRunPort();
    this.state = 'stopped';
    this.readyAt = null;
    this.log.system(`${this.config.name} stopped`);
    this.applyPendingConfig();
    this.emit();
  }

  /** SIGTERM to the whole tree, SIGKILL after `graceMs`; resolves when no process of it is left. */
  private async terminate(running: Running, graceMs: number): Promise<void> {
    this.deps.signalTree(running.pid, 'SIGTERM');
    if (await this.waitGone(running, graceMs)) return;
    this.log.system(`${this.config.name} did not exit within ${formatDuration(graceMs)}; killing it`);
    this.deps.signalTree(running.pid, 'SIGKILL');
    if (!(await this.waitGone(running, LEFTOVER_KILL_WAIT_MS))) {
      this.log.system(`process group ${running.pid} is still present after SIGKILL`);
    }
  }

  private async waitGone(running: Running, timeoutMs: number): Promise<boolean> {
    const deadline = this.deps.now() + timeoutMs;
    const exitedInTime = await Promise.race([
      running.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.min(timeoutMs, MAX_TIMER_MS)).unref()),
    ]);
    if (!exitedInTime) return false;
    // The leader is gone; children of a script may take a moment longer.
    while (this.deps.treeAlive(running.pid)) {
      if (this.deps.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return true;
  }

  // ---- faults ----------------------------------------------------------------------------------

  private backoffError(pauseMs: number): ApiError {
    const reason = this.lastError?.message ?? 'it keeps failing';
    return new ApiError(
      503,
      'model_backoff',
      `${this.config.name} is not restarted automatically for another ${formatDuration(pauseMs)}: ${reason}. Start it explicitly (POST /api/models/${encodeURIComponent(this.config.name)}/start or the window) to try now.`,
      'service_unavailable',
      Math.max(1, Math.ceil(pauseMs / 1000)),
    );
  }

  /** A ready engine is asked for its health every healthIntervalMs; a run of silences means it hangs. */
  private scheduleHealthCheck(generation: number, misses: number): void {
    this.clearHealthTimer();
    const { healthIntervalMs, healthFailures, healthTimeoutMs } = this.faults;
    if (healthIntervalMs <= 0) return;
    this.healthTimer = setTimeout(() => {
      this.healthTimer = null;
      if (generation !== this.generation || this.state !== 'ready') return;
      // A busy engine may be slow to answer /health (one generating thread); judge it when idle.
      if (this.inFlight > 0) return this.scheduleHealthCheck(generation, misses);
      this.healthCheckRunning = true;
      void this.deps
        .probeHealth(this.port, this.config.healthPath, healthTimeoutMs, this.engineKey)
        .then((status) => {
          this.healthCheckRunning = false;
          if (generation !== this.generation || this.state !== 'ready') return;
          // Any HTTP answer means the engine's server is alive (a busy one may answer 503).
          const missed = status === null ? misses + 1 : 0;
          if (missed >= healthFailures) {
            this.onHung(generation, `${this.config.name} stopped answering its health check (${missed} checks in a row, ${formatDuration(healthIntervalMs)} apart)`);
          } else {
            this.scheduleHealthCheck(generation, missed);
          }
        });
    }, Math.min(healthIntervalMs, MAX_TIMER_MS));
    this.healthTimer.unref();
  }

  private clearHealthTimer(): void {
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = null;
  }

  // ---- upstreams (#16: servers this node proxies to but does not spawn) -------------------------

  /** Where requests go while this model is ready through an upstream profile; null: its engine's port. */
  get remote(): RemoteRoute | null {
    return this.remoteRun;
  }

  /**
   * Tries `first` and the upstream profiles after it in file order until one answers (then ready,
   * and null is returned); a local profile reached on the way is returned for spawning; when none is
   * left the start fails with every profile's reason.
   */
  private async connectUpstream(generation: number, model: ModelConfig, first: ProfileChoice): Promise<ProfileChoice | null> {
    const { connectRemote, disconnectRemote, remoteRoute } = await import('../upstreams/remote.js');
    const skipped = [...first.skipped];
    let choice = first;
    for (;;) {
      const spec = choice.profile.upstream;
      if (!spec) return { ...choice, skipped: [...skipped, ...choice.skipped.filter((s) => !skipped.includes(s))] };
      const route = remoteRoute(spec);
      this.launchText = `${spec.kind === 'ollama' ? `ollama ${spec.model}` : spec.kind === 'peer' ? 'peer' : 'upstream'} at ${route.label}`;
      this.log.system(`connecting ${model.name} (profile ${choice.profile.name}): ${this.launchText}`);
      const reason = await connectRemote(spec, { fetch: this.deps.fetch, timeoutMs: model.startTimeoutMs });
      if (generation !== this.generation) {
        // Stopped while Ollama loaded it: unloaded, or it would stay loaded (keep_alive) with nobody to stop it.
        if (reason === null) void disconnectRemote(spec, { fetch: this.deps.fetch, timeoutMs: model.stopTimeoutMs });
        return null;
      }
      if (reason === null) {
        this.profileName = choice.profile.name;
        this.skipped = skipped;
        this.remoteRun = route;
        this.onReady(generation);
        return null;
      }
      this.log.system(`${choice.profile.name}: ${reason}`);
      skipped.push({ profile: choice.profile.name, reason });
      const at = model.profiles.findIndex((p) => p.name === choice.profile.name);
      const rest = model.profiles.slice(at + 1);
      if (rest.length === 0) break;
      try {
        choice = await this.deps.chooseProfile({ ...model, profiles: rest });
      } catch (err) {
        if (!(err instanceof NoProfileError)) throw err;
        skipped.push(...err.skipped);
        break;
      }
      if (generation !== this.generation) return null;
      skipped.push(...choice.skipped);
    }
    this.skipped = skipped;
    const message = skipped.length === 1 ? skipped[0]!.reason : new NoProfileError(model.name, skipped).message;
    await this.failStart(generation, message, null, null);
    return null;
  }

  private async disconnectUpstream(route: RemoteRoute): Promise<void> {
    this.remoteRun = null;
    const { disconnectRemote } = await import('../upstreams/remote.js');
    const failed = await disconnectRemote(route.spec, { fetch: this.deps.fetch, timeoutMs: this.config.stopTimeoutMs });
    if (failed !== null) this.log.system(`could not unload ${route.spec.model} from ${route.label}: ${failed}`);
  }

  /** A ready upstream is asked whether it is there every healthIntervalMs while idle (and at once on a failed request). */
  private scheduleRemoteCheck(generation: number): void {
    this.clearHealthTimer();
    if (this.faults.healthIntervalMs <= 0) return;
    this.healthTimer = setTimeout(() => {
      this.healthTimer = null;
      if (generation !== this.generation || this.state !== 'ready') return;
      if (this.inFlight > 0) return this.scheduleRemoteCheck(generation);
      void this.checkRemoteNow(generation);
    }, Math.min(this.faults.healthIntervalMs, MAX_TIMER_MS));
    this.healthTimer.unref();
  }

  private async checkRemoteNow(generation: number): Promise<void> {
    const route = this.remoteRun;
    if (!route || this.healthCheckRunning) return;
    this.healthCheckRunning = true;
    const { checkRemote } = await import('../upstreams/remote.js');
    const reason = await checkRemote(route.spec, { fetch: this.deps.fetch, timeoutMs: this.faults.healthTimeoutMs }).finally(() => (this.healthCheckRunning = false));
    if (generation !== this.generation || this.state !== 'ready') return;
    if (reason === null) return this.scheduleRemoteCheck(generation);
    this.remoteLost(reason);
  }

  /** The upstream went away: failed with why (no crash-loop pause: nothing of ours crashed); the next request tries again. */
  remoteLost(reason: string): void {
    if (!this.remoteRun || this.state !== 'ready') return;
    this.generation++;
    this.clearHealthTimer();
    this.log.system(reason);
    this.setFailed(reason, null, null);
  }

  /** A peer's own account of this model (state, progress, requests, VRAM), or null when there is none. */
  setRemoteView(view: Pick<ModelInfo, 'state' | 'loading' | 'inFlight' | 'vramMb'> | null): void {
    if (isDeepStrictEqual(view, this.remoteView)) return;
    this.remoteView = view;
    this.emitSoon();
  }

  private upstreamInfo(): Partial<ModelInfo> {
    const spec = this.remoteRun?.spec ?? (this.config.profiles.every((p) => p.upstream) ? this.config.profiles[0]!.upstream! : null);
    if (!spec) return {};
    const upstream = { kind: spec.kind, url: spec.baseUrl, ...(spec.peer !== undefined ? { peer: spec.peer } : {}) };
    const view = this.state === 'ready' ? this.remoteView : null;
    return view ? { upstream, ...view, inFlight: Math.max(view.inFlight, this.inFlight) } : { upstream };
  }

  /** A hung engine is killed (it would not honour SIGTERM) and marked failed; the next request restarts it. */
  private onHung(generation: number, message: string): void {
    const running = this.running;
    if (generation !== this.generation || this.state !== 'ready' || !running || this.stopPromise) return;
    this.generation++;
    this.clearHealthTimer();
    this.clearIdleTimer();
    this.state = 'stopping';
    this.log.system(`${message}; killing it`);
    this.emit();
    // Requests arriving meanwhile wait for the kill (ensureReady awaits stopPromise), then start afresh.
    this.stopPromise = (async () => {
      this.deps.signalTree(running.pid, 'SIGKILL');
      await this.waitGone(running, LEFTOVER_KILL_WAIT_MS);
      if (this.running === running) this.running = null;
      this.setFailed(message, null, 'SIGKILL', true);
    })().finally(() => {
      this.stopPromise = null;
    });
  }

  /** Drops the engine from the ledger once no process of its group is left. */
  private async forgetWhenGone(pid: number): Promise<void> {
    if (!this.deps.ledger) return;
    for (let i = 0; i < 600 && this.deps.treeAlive(pid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100).unref());
    }
    if (!this.deps.treeAlive(pid)) this.deps.ledger.remove(pid);
  }

  // ---- idle ------------------------------------------------------------------------------------

  private becameIdle(lazy = false): void {
    if (this.state !== 'ready') return;
    if (this.pendingConfig) {
      const next = this.pendingConfig;
      void this.stop('configuration changed').then(() => {
        if (this.config === next) return this.ensureReady().catch(() => undefined);
      });
      return;
    }
    this.scheduleIdleStop(lazy);
  }

  /** `lazy`: a timer already armed for no later than the new deadline stays (it re-checks when it fires). */
  private scheduleIdleStop(lazy = false): void {
    const deadline = idleDeadline({ aliveTimeMs: this.idleAliveMs, inFlight: this.inFlight, lastActivity: this.lastActivity });
    if (lazy && this.idleTimer && deadline !== null && this.idleTimerDue <= deadline) return;
    this.clearIdleTimer();
    if (deadline === null) return;
    const delay = Math.min(Math.max(0, deadline - this.deps.now()), MAX_TIMER_MS);
    this.idleTimerDue = this.deps.now() + delay;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const due = idleDeadline({ aliveTimeMs: this.idleAliveMs, inFlight: this.inFlight, lastActivity: this.lastActivity });
      if (this.state !== 'ready' || due === null) return;
      if (this.deps.now() < due) return this.scheduleIdleStop();
      void this.stop(`idle for ${formatDuration(this.config.aliveTimeMs)}`);
    }, delay);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** An allocated port goes back to the pool once the run is over (its engine gone). */
  private releaseRunPort(): void {
    if (this.runPort !== null && this.portAllocated) this.deps.releasePort?.(this.config.name, this.runPort);
    this.portAllocated = false;
    this.runPort = null;
  }

  private applyPendingConfig(): void {
    if (!this.pendingConfig) return;
    this.config = this.pendingConfig;
    this.pendingConfig = null;
  }

  // ---- events ----------------------------------------------------------------------------------

  private emit(): void {
    if (this.emitTimer) {
      clearTimeout(this.emitTimer);
      this.emitTimer = null;
    }
    if (this.listeners.size === 0) return;
    const info = this.info();
    for (const listener of this.listeners) listener(info);
  }

  /** Request counts change on the hot path: coalesce them into at most ten events a second. */
  private emitSoon(): void {
    if (this.emitTimer || this.listeners.size === 0) return;
    this.emitTimer = setTimeout(() => this.emit(), 100);
    this.emitTimer.unref();
  }
}

/** Whether two definitions of a model start the same engine: what a running one needs restarting for. */
export function sameLaunch(a: ModelConfig, b: ModelConfig): boolean {
  return a.mode === b.mode && a.port === b.port && a.healthPath === b.healthPath && isDeepStrictEqual(a.profiles, b.profiles);
}
