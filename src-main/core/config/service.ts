// The live config: what the node runs with, saving from the editor, and edits made on disk.
import { readFileSync } from 'node:fs';
import type { AppConfig, ConfigIssue } from '../../../src-shared/config.js';
import { formatIssue } from '../../../src-shared/config.js';
import type { ConfigDocument, ConfigSaveResult } from '../../../src-shared/contract.js';
import type { Logger } from '../logger.js';
import type { RegistryChange } from '../models/registry.js';
import { ConfigError, saveConfigText, watchConfig, type ConfigWatcher, type LoadedConfig } from './load.js';

export interface ConfigServiceOptions {
  path: string;
  loaded: LoadedConfig;
  logger: Logger;
  /** Applies a new config to the running node; returns which models changed. */
  apply: (config: AppConfig) => RegistryChange & { autoStarted?: string[] };
  onSaved?: (result: ConfigSaveResult) => void;
}

export class ConfigService {
  private current: AppConfig;
  private text: string;
  /** Problems of the file on disk while it is invalid (the last good config keeps running). */
  private diskIssues: ConfigIssue[] = [];
  private watcher: ConfigWatcher | null = null;

  constructor(private readonly options: ConfigServiceOptions) {
    this.current = options.loaded.config;
    this.text = options.loaded.text;
  }

  get config(): AppConfig {
    return this.current;
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

  /** Validates, writes atomically (with .bak) and applies. Invalid text: nothing is written. */
  save(text: string): ConfigSaveResult {
    let saved: { config: AppConfig; warnings: ConfigIssue[] };
    try {
      saved = saveConfigText(this.options.path, text);
    } catch (err) {
      if (err instanceof ConfigError) {
        return { ok: false, issues: err.issues, added: [], removed: [], changed: [], message: 'Not saved: fix the errors first.' };
      }
      throw err;
    }
    this.watcher?.expect(text);
    this.text = text;
    this.diskIssues = [];
    const result = this.applyConfig(saved.config, saved.warnings);
    this.options.onSaved?.(result);
    return result;
  }

  /** Follows edits made outside the app; an invalid edit keeps the last good config running. */
  watch(): void {
    this.watcher ??= watchConfig(this.options.path, (change) => {
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
    });
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
