// The live config: what the node runs with, saving from the editor, and edits made on disk.
import fs, { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppConfig, ConfigIssue, ConfigLimit, ConfigSpans } from '../../../src-shared/config.js';
import { formatIssue, MAX_CONFIG_BYTES } from '../../../src-shared/config.js';
import type { ConfigBackup, ConfigBackupText, ConfigCheckResult, ConfigDocument, ConfigSaveOptions, ConfigSaveResult, ModelState } from '../../../src-shared/contract.js';
import { ApiError } from '../../../src-shared/errors.js';
import type { Logger } from '../logger.js';
import type { RegistryChange } from '../models/registry.js';
import { backupIndex, backupPath, listBackupFiles } from './backups.js';
import type { LaunchCheck } from './launch-check.js';
import { ConfigError, resolveConfigPaths, saveConfigText, watchConfig, type ConfigWatcher, type LoadedConfig } from './load.js';
import { parseConfigOffThread, type ParsedText } from './parse-off-thread.js';

/** The HTTP code of a text refused before it was read as a config (answered 400 with the reason). */
const LIMIT_CODES: Record<ConfigLimit, string> = {
  size: 'config_too_large',
  depth: 'config_too_deep',
  aliases: 'config_too_many_aliases',
  time: 'config_parse_timeout',
};

/** Where a saved config came from: a save through the API (the window, /api/config), or an edit of the file on disk. */
export type ConfigSource = 'api' | 'disk';

/** What a model was doing when a new config reached it. */
export interface ModelBefore {
  state: ModelState;
  inFlight: number;
}

export interface ConfigApplied extends RegistryChange {
  autoStarted?: string[];
  /** Each model's state just before the config was applied, by name. */
  before?: Record<string, ModelBefore>;
}

export interface ConfigServiceOptions {
  path: string;
  loaded: LoadedConfig;
  logger: Logger;
  /** Applies a new config to the running node; returns which models changed. */
  apply: (config: AppConfig) => ConfigApplied;
  /** Once per applied config, wherever it came from. */
  onSaved?: (result: ConfigSaveResult, source: ConfigSource) => void;
  /**
   * The node's own checks of a config (with its paths resolved): scripts, commands, cwd, devices.
   * Their warnings join the parser's in every save, check and edit on disk. Default: none.
   */
  check?: (config: AppConfig, spans: ConfigSpans) => Promise<LaunchCheck>;
  /** Parses a text, off the event loop when it is large (default: parseConfigOffThread). */
  parse?: (text: string, fileName: string) => Promise<ParsedText>;
}

const NO_CHECK: LaunchCheck = { issues: [], cannotStart: {} };

export class ConfigService {
  private current: AppConfig;
  private text: string;
  /** Problems of the file on disk while it is invalid (the last good config keeps running). */
  private diskIssues: ConfigIssue[] = [];
  private watcher: ConfigWatcher | null = null;
  /** Saves run one at a time, each against the config the one before it left. */
  private saving: Promise<unknown> = Promise.resolve();
  private readonly parse: (text: string, fileName: string) => Promise<ParsedText>;

  constructor(private readonly options: ConfigServiceOptions) {
    this.current = options.loaded.config;
    this.text = options.loaded.text;
    this.parse = options.parse ?? ((text, fileName) => parseConfigOffThread(text, { fileName }));
  }

  get config(): AppConfig {
    return this.current;
  }

  /** The file on disk is invalid or empty now (the last good config keeps running). */
  get diskInvalid(): boolean {
    return this.diskIssues.length > 0;
  }

  document(): ConfigDocument {
    let text = this.text;
    try {
      text = readFileSync(this.options.path, 'utf8').replace(/^\uFEFF/, '');
    } catch {
      // unreadable now: show what we run with
    }
    return { path: this.options.path, text, issues: this.diskIssues };
  }

  /**
   * Validates (off the event loop when large), writes atomically (keeping backups) and applies.
   * Invalid text: nothing is written. Text that removes every model, or is blank: nothing is
   * written unless `confirmRemoveAll`. Hostile text (too large, too deep, an alias bomb, too slow
   * to parse): ApiError 400 with the reason.
   */
  save(text: string, options: ConfigSaveOptions = {}): Promise<ConfigSaveResult> {
    const run = this.saving.then(() => this.saveNow(text, options));
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async saveNow(text: string, options: ConfigSaveOptions): Promise<ConfigSaveResult> {
    const fileName = path.basename(this.options.path);
    const started = Date.now();
    const { result, where } = await this.parse(text, fileName);
    if (where === 'worker') this.options.logger.debug(`config save: parsed ${Math.round(text.length / 1024)} KB in a worker thread in ${Date.now() - started} ms`);
    const limit = result.ok ? undefined : result.errors.find((issue) => issue.limit !== undefined);
    if (limit?.limit) throw new ApiError(400, LIMIT_CODES[limit.limit], `config not saved: ${formatIssue(fileName, limit)}`);
    if (result.ok && options.confirmRemoveAll !== true) {
      const refusal = this.removesEverything(text, result.config);
      if (refusal) return refusal;
    }
    let saved: { config: AppConfig; warnings: ConfigIssue[]; spans: ConfigSpans };
    try {
      saved = saveConfigText(this.options.path, text, result);
    } catch (err) {
      if (err instanceof ConfigError) {
        return { ok: false, issues: err.issues, added: [], removed: [], changed: [], message: 'Not saved: fix the errors first.' };
      }
      throw err;
    }
    this.watcher?.expect(text);
    this.text = text;
    this.diskIssues = [];
    const applied = await this.applyConfig(saved.config, saved.warnings, saved.spans);
    this.options.onSaved?.(applied, 'api');
    return applied;
  }

  /**
   * What a save of `text` would say, without saving: the parser's errors and warnings, and the
   * node's own (scripts, commands, cwd, devices). Hostile text: ApiError 400, as for a save.
   */
  async check(text: string): Promise<ConfigCheckResult> {
    const fileName = path.basename(this.options.path);
    const { result } = await this.parse(text, fileName);
    const limit = result.ok ? undefined : result.errors.find((issue) => issue.limit !== undefined);
    if (limit?.limit) throw new ApiError(400, LIMIT_CODES[limit.limit], `config not checked: ${formatIssue(fileName, limit)}`);
    if (!result.ok) return { ok: false, issues: byPlace([...result.errors, ...result.warnings]) };
    const launch = await this.launchCheck(resolveConfigPaths(result.config, path.dirname(path.resolve(this.options.path))), result.spans);
    return { ok: true, issues: byPlace([...result.warnings, ...launch.issues]) };
  }

  /** The node's checks of the config it runs with now (at startup), with their warnings logged. */
  async checkCurrent(spans: ConfigSpans): Promise<LaunchCheck> {
    const launch = await this.launchCheck(this.current, spans);
    for (const issue of launch.issues) this.options.logger.warn(formatIssue(this.options.path, issue));
    return launch;
  }

  private async launchCheck(config: AppConfig, spans: ConfigSpans): Promise<LaunchCheck> {
    if (!this.options.check) return NO_CHECK;
    try {
      return await this.options.check(config, spans);
    } catch (err) {
      this.options.logger.debug(`config check failed: ${(err as Error).message}`);
      return NO_CHECK;
    }
  }

  /** A save that would leave no model (or a blank file) needs the caller's confirmation. */
  private removesEverything(text: string, next: AppConfig): ConfigSaveResult | null {
    const names = this.current.models.map((m) => m.name);
    const blank = text.trim() === '';
    if (!blank && (next.models.length > 0 || names.length === 0)) return null;
    const what =
      names.length > 0 ? `it removes ${names.length === 1 ? 'the only model' : `all ${names.length} models`} (${names.join(', ')})` : 'the config would be empty';
    return {
      ok: false,
      issues: [],
      added: [],
      removed: [],
      changed: [],
      message: `Not saved: ${what}. Save it again with confirmation (confirm_remove_all) to do so.`,
      needsConfirmation: { removeAll: names },
    };
  }

  /** The saved versions of the config file, newest first, with how many models each has. */
  async backups(): Promise<ConfigBackup[]> {
    const out: ConfigBackup[] = [];
    for (const backup of listBackupFiles(realPathOr(this.options.path))) {
      let models: number | null = null;
      if (backup.sizeBytes <= MAX_CONFIG_BYTES) {
        try {
          const { result } = await this.parse(readText(backup.path), path.basename(this.options.path));
          models = result.ok ? result.config.models.length : null;
        } catch {
          // unreadable now: listed without a count
        }
      }
      out.push({ id: backup.id, savedAt: backup.savedAt.toISOString(), sizeBytes: backup.sizeBytes, models });
    }
    return out;
  }

  /** One saved version's text. `id` comes from a client: only "0"-"9" are accepted. */
  async backup(id: string): Promise<ConfigBackupText> {
    const file = backupPath(realPathOr(this.options.path), backupIndex(id));
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new ApiError(404, 'backup_not_found', `there is no saved version ${id} of the config`);
    }
    if (!stat.isFile()) throw new ApiError(404, 'backup_not_found', `there is no saved version ${id} of the config`);
    if (stat.size > MAX_CONFIG_BYTES) throw new ApiError(413, 'backup_too_large', `saved version ${id} is ${Math.ceil(stat.size / 1024)} KB, more than a config may be`);
    return { id, savedAt: stat.mtime.toISOString(), text: readText(file) };
  }

  /** Follows edits made outside the app; an invalid edit keeps the last good config running. */
  watch(): void {
    this.watcher ??= watchConfig(this.options.path, (change) => {
      if (!change.ok && change.empty) {
        this.diskIssues = change.error.issues;
        this.options.logger.warn(`config file ${this.options.path} is empty now; not applied, still running the last config (to remove every model, save it from the window)`);
        return;
      }
      if (!change.ok) {
        this.diskIssues = change.error.issues;
        this.options.logger.error(`config file changed but is not valid; still running the last good config:\n${change.error.message}`);
        return;
      }
      this.text = change.text;
      this.diskIssues = [];
      void this.applyConfig(change.config, change.warnings, change.spans).then((result) => this.options.onSaved?.(result, 'disk'));
    }, { parse: async (text, fileName) => (await this.parse(text, fileName)).result });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  /** Applies the config at once, then checks it (which may read the devices) and says what happened. */
  private async applyConfig(config: AppConfig, warnings: ConfigIssue[], spans: ConfigSpans): Promise<ConfigSaveResult> {
    const before = this.current;
    this.current = config;
    const change = this.options.apply(config);
    const launch = await this.launchCheck(config, spans);
    const issues = byPlace([...warnings, ...launch.issues]);
    for (const issue of issues) this.options.logger.warn(formatIssue(this.options.path, issue));
    const notes = saveNotes(change, launch.cannotStart);
    if (before.program.host !== config.program.host || before.program.port !== config.program.port) {
      notes.push('the new host/port takes effect when LLM Manager restarts');
    }
    const message = notes.length > 0 ? `Saved: ${notes.join('; ')}.` : 'Saved: nothing that affects running models changed.';
    return { ok: true, issues, added: change.added, removed: change.removed, changed: change.changed, message };
  }
}

const RUNNING: readonly ModelState[] = ['starting', 'ready', 'stopping'];

/**
 * What a save does to each model, one note each: a running model restarts now, restarts when
 * idle, keeps running with its new settings, or stops (removed); one that isn't running is
 * updated or removed; new ones are added (and started, with auto_start). A model that will be
 * started (or restarted) but can't be, says so and why.
 */
function saveNotes(change: ConfigApplied, cannotStart: Record<string, string>): string[] {
  const notes: string[] = [];
  const before = change.before ?? {};
  const autoStarted = change.autoStarted ?? [];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  for (const name of change.changed) {
    const was = before[name];
    const running = was !== undefined && RUNNING.includes(was.state);
    const why = cannotStart[name];
    if (change.restarting.includes(name)) {
      const now = was?.state === 'ready' && was.inFlight === 0;
      const when = now ? `${name} restarts now` : `${name} will restart when idle${was && was.inFlight > 0 ? ` (after ${plural(was.inFlight, 'request')} in flight)` : ''}`;
      notes.push(why ? `${when} — but ${why}, so it will fail` : when);
    } else if (autoStarted.includes(name)) {
      continue; // said below, with the other auto_start starts
    } else if (running) {
      notes.push(`${name} keeps running with its new settings${why ? ` (but ${why}, so its next start will fail)` : ''}`);
    } else {
      notes.push(`${name} updated${why ? ` — but ${why}, so it can't start` : ''}`);
    }
  }
  const added = change.added.filter((name) => !autoStarted.includes(name));
  if (added.length > 0) notes.push(`added ${added.map((name) => (cannotStart[name] ? `${name} (which can't start: ${cannotStart[name]})` : name)).join(', ')}`);
  if (autoStarted.length > 0) {
    const newly = autoStarted.filter((name) => change.added.includes(name));
    const starts = autoStarted.map((name) => (cannotStart[name] ? `${name} — but ${cannotStart[name]}, so it will fail` : name));
    notes.push(`${newly.length > 0 ? `added ${newly.join(', ')}; ` : ''}starting ${starts.join(', ')} (auto_start)`);
  }
  const stopping = change.removed.filter((name) => before[name] !== undefined && RUNNING.includes(before[name]!.state));
  const removed = change.removed.filter((name) => !stopping.includes(name));
  for (const name of stopping) notes.push(`${name} stops (removed)`);
  if (removed.length > 0) notes.push(`removed ${removed.join(', ')}`);
  return notes;
}

function byPlace(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.from - b.from);
}

function realPathOr(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function readText(file: string): string {
  return fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
}
