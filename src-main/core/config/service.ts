// The live config: what the node runs with, saving from the editor, and edits made on disk.
import fs, { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppConfig, ConfigIssue, ConfigLimit } from '../../../src-shared/config.js';
import { formatIssue, MAX_CONFIG_BYTES } from '../../../src-shared/config.js';
import type { ConfigBackup, ConfigBackupText, ConfigDocument, ConfigSaveOptions, ConfigSaveResult } from '../../../src-shared/contract.js';
import { ApiError } from '../../../src-shared/errors.js';
import type { Logger } from '../logger.js';
import type { RegistryChange } from '../models/registry.js';
import { backupIndex, backupPath, listBackupFiles } from './backups.js';
import { ConfigError, saveConfigText, watchConfig, type ConfigWatcher, type LoadedConfig } from './load.js';
import { parseConfigOffThread, type ParsedText } from './parse-off-thread.js';

/** The HTTP code of a text refused before it was read as a config (answered 400 with the reason). */
const LIMIT_CODES: Record<ConfigLimit, string> = {
  size: 'config_too_large',
  depth: 'config_too_deep',
  aliases: 'config_too_many_aliases',
  time: 'config_parse_timeout',
};

export interface ConfigServiceOptions {
  path: string;
  loaded: LoadedConfig;
  logger: Logger;
  /** Applies a new config to the running node; returns which models changed. */
  apply: (config: AppConfig) => RegistryChange & { autoStarted?: string[] };
  onSaved?: (result: ConfigSaveResult) => void;
  /** Parses a text, off the event loop when it is large (default: parseConfigOffThread). */
  parse?: (text: string, fileName: string) => Promise<ParsedText>;
}

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
    let saved: { config: AppConfig; warnings: ConfigIssue[] };
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
    const applied = this.applyConfig(saved.config, saved.warnings);
    this.options.onSaved?.(applied);
    return applied;
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
      const result = this.applyConfig(change.config, change.warnings);
      this.options.logger.info(`config file changed: ${result.message}`);
      this.options.onSaved?.(result);
    }, { parse: async (text, fileName) => (await this.parse(text, fileName)).result });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private applyConfig(config: AppConfig, warnings: ConfigIssue[]): ConfigSaveResult {
    const before = this.current;
    this.current = config;
    const change = this.options.apply(config);
    for (const warning of warnings) this.options.logger.warn(formatIssue(this.options.path, warning));
    const notes: string[] = [];
    for (const name of change.changed) notes.push(change.restarting.includes(name) ? `${name} will restart when idle` : `${name} updated`);
    if (change.added.length > 0) notes.push(`added ${change.added.join(', ')}`);
    if (change.removed.length > 0) notes.push(`removed ${change.removed.join(', ')}`);
    if (change.autoStarted && change.autoStarted.length > 0) notes.push(`starting ${change.autoStarted.join(', ')} (auto_start)`);
    if (before.program.host !== config.program.host || before.program.port !== config.program.port) {
      notes.push('the new host/port takes effect when LLM Manager restarts');
    }
    const message = notes.length > 0 ? `Saved: ${notes.join('; ')}.` : 'Saved: nothing that affects running models changed.';
    return { ok: true, issues: warnings, added: change.added, removed: change.removed, changed: change.changed, message };
  }
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
