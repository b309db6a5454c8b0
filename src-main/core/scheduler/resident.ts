// Resident models (resident: true): started with the node, and started again once the devices they
// need are free after they were stopped to make room, stopped with their exclusive_group, or held
// off. A person's stop (the window, the tray, /api) is respected: such a model stays stopped until a
// person starts it again. Whether a resident fits now is the scheduler's own placement, asked in its
// queue (GpuChooser.startIfFits), so a resident never takes memory another start was promised and
// never stops anything to come back.
import type { ModelConfig } from '../../../src-shared/config.js';
import type { ManagerApi, ModelState } from '../../../src-shared/contract.js';
import type { Logger } from '../logger.js';

export interface ResidentView {
  name: string;
  state: ModelState;
  /** Started by the node or a person, and not stopped by a person since. */
  wanted: boolean;
}

/** The residents to try to start now, in config order: wanted, not running, models not held, fitting. Pure. */
export function residentsToStart(models: readonly ResidentView[], fits: (name: string) => boolean, held: boolean): string[] {
  if (held) return [];
  return models.filter((m) => m.wanted && (m.state === 'stopped' || m.state === 'failed') && fits(m.name)).map((m) => m.name);
}

export interface ResidentEngine {
  readonly name: string;
  readonly currentState: ModelState;
  readonly latestConfig: ModelConfig;
  ensureReady(): Promise<void>;
  onChange(listener: (info: { state: ModelState }) => void): () => void;
}

export interface ResidentKeeperOptions {
  engines: () => readonly ResidentEngine[];
  /** Runs `start` (synchronously, inside the scheduler's queue) when the model would start now without stopping anything. */
  startIfFits: (model: ModelConfig, start: () => void) => Promise<boolean>;
  held: () => boolean;
  logger: Logger;
  /** While a wanted resident is not running: look again this often (memory freed by other programs). */
  recheckMs?: number;
}

const RECHECK_MS = 5000;

export class ResidentKeeper {
  private readonly wanted = new Set<string>();
  private readonly watched = new Map<string, () => void>();
  /** Residents seen so far (a model that turns resident in a config change starts then). */
  private readonly known = new Set<string>();
  private checking: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: ResidentKeeperOptions) {}

  /** At launch, and after every config change: new residents are wanted and started (as auto_start would), removed ones forgotten. */
  sync(): void {
    const engines = this.options.engines();
    const residents = engines.filter((e) => e.latestConfig.resident);
    const names = new Set(residents.map((e) => e.name));
    for (const name of [...this.wanted]) if (!names.has(name)) this.wanted.delete(name);
    // Any model that stops may free what a resident waits for: every model is watched while there are residents.
    const watch = new Set(residents.length > 0 ? engines.map((e) => e.name) : []);
    for (const [name, off] of this.watched) {
      if (!watch.has(name)) {
        off();
        this.watched.delete(name);
      }
    }
    for (const engine of engines) {
      if (!watch.has(engine.name) || this.watched.has(engine.name)) continue;
      this.watched.set(engine.name, engine.onChange((info) => (info.state === 'stopped' || info.state === 'failed' ? this.soon() : undefined)));
    }
    for (const engine of residents) {
      if (this.known.has(engine.name)) continue;
      this.known.add(engine.name);
      this.wanted.add(engine.name);
      if (!this.options.held() && (engine.currentState === 'stopped' || engine.currentState === 'failed')) this.start(engine);
    }
    for (const name of [...this.known]) if (!names.has(name)) this.known.delete(name);
    void this.check();
  }

  /** A person started (true) or stopped (false) a model; only residents are tracked. */
  want(name: string, on: boolean): void {
    const engine = this.options.engines().find((e) => e.name === name);
    if (!engine?.latestConfig.resident) return;
    if (on) this.wanted.add(engine.name);
    else this.wanted.delete(engine.name);
  }

  /** A person stopped every model: residents too stay stopped until started. */
  wantNone(): void {
    this.wanted.clear();
  }

  /** Something changed (a model stopped, the hold was released): look soon. */
  soon(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), 50);
    this.timer.unref();
  }

  /** Tries the residents that may start now; resolves when this look (and any asked for meanwhile) is done. */
  check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.run().finally(() => {
      this.checking = null;
      if (this.again) {
        this.again = false;
        void this.check();
      }
    });
    return this.checking;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const off of this.watched.values()) off();
    this.watched.clear();
  }

  private start(engine: ResidentEngine): void {
    engine.ensureReady().catch((err: Error) => this.options.logger.warn(`resident ${engine.name} did not start: ${err.message.split('\n')[0]}`));
  }

  private async run(): Promise<void> {
    const engines = this.options.engines();
    const views = engines.map((e) => ({ name: e.name, state: e.currentState, wanted: this.wanted.has(e.name) && !!e.latestConfig.resident }));
    const candidates = residentsToStart(views, () => true, this.options.held());
    for (const name of candidates) {
      const engine = engines.find((e) => e.name === name)!;
      if (engine.currentState !== 'stopped' && engine.currentState !== 'failed') continue;
      await this.options
        .startIfFits(engine.latestConfig, () => {
          this.options.logger.info(`${name} is resident and its devices are free: starting it again`);
          this.start(engine);
        })
        .catch(() => false);
    }
    // Residents still waiting: look again later (memory freed by programs that aren't ours shows only in readings).
    const waiting = this.options.engines().some((e) => this.wanted.has(e.name) && (e.currentState === 'stopped' || e.currentState === 'failed'));
    if (waiting && !this.closed && !this.options.held()) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.check(), this.options.recheckMs ?? RECHECK_MS);
      this.timer.unref();
    }
  }
}

/** The API with a person's starts and stops told to the keeper (a person's stop keeps a resident stopped). */
export function withResidentIntent(api: ManagerApi, keeper: ResidentKeeper, resolve: (name: string) => string | undefined): ManagerApi {
  return {
    ...api,
    startModel: (name) => {
      const model = resolve(name);
      if (model) keeper.want(model, true);
      return api.startModel(name);
    },
    stopModel: (name) => {
      const model = resolve(name);
      if (model) keeper.want(model, false);
      return api.stopModel(name);
    },
    stopAll: () => {
      keeper.wantNone();
      return api.stopAll();
    },
  };
}
