// config.yaml on disk: where it is, creating it from the example, loading it with relative paths
// resolved, saving it atomically, and watching it for edits made outside the app.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatIssue, parseConfigText, type AppConfig, type ConfigIssue, type ConfigParseResult, type ConfigSpans, type EngineSpec, type LaunchProfile } from '../../../src-shared/config.js';
import { keepBackup } from './backups.js';
import { renderProfile } from '../engines/index.js';
import { findExecutable } from '../models/process.js';
import { parseConfigOffThread } from './parse-off-thread.js';

export const CONFIG_ENV_VAR = 'LLM_MANAGER_CONFIG';
export const DEFAULT_CONFIG_NAME = 'config.yaml';

/** A config file that cannot be read or is not valid. `message` is one line per issue and never a stack trace. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Absolute path of the config file. */
  readonly file: string;
  readonly issues: ConfigIssue[];
  readonly warnings: ConfigIssue[];
  /** The errno code (ENOENT, EACCES, EISDIR, ...) when the file could not be read or written. */
  readonly code: string | undefined;

  constructor(file: string, issues: ConfigIssue[], options: { message?: string; warnings?: ConfigIssue[]; code?: string } = {}) {
    const base = path.basename(file);
    super(options.message ?? (issues.map((issue) => formatIssue(base, issue)).join('\n') || `${base}: invalid configuration`));
    this.file = file;
    this.issues = issues;
    this.warnings = options.warnings ?? [];
    this.code = options.code;
    // Printed by an uncaught handler or console.error, a config mistake should read like the
    // message, not like a crash: the stack says nothing about the user's file.
    this.stack = `${this.name}: ${this.message}`;
  }

  /** For files that cannot be read or written: one issue at 1:1 and a one-line message naming the path. */
  static io(file: string, message: string, code?: string): ConfigError {
    const issue: ConfigIssue = { severity: 'error', path: '', message, line: 1, col: 1, from: 0, to: 0 };
    return new ConfigError(file, [issue], code === undefined ? { message } : { message, code });
  }
}

export interface LoadedConfig {
  /** With every path made absolute (see resolveConfigPaths). */
  config: AppConfig;
  warnings: ConfigIssue[];
  /** The text that was parsed (BOM removed). */
  text: string;
  /** Absolute folder of the config file; relative paths in it are resolved against this. */
  dir: string;
  /** Where each launch profile's fields are in `text`, for the node's own checks (launch-check.ts). */
  spans: ConfigSpans;
}

export type ConfigChange =
  | { ok: true; config: AppConfig; warnings: ConfigIssue[]; text: string; spans: ConfigSpans }
  /** `empty`: the file was emptied (or left blank); not applied, whatever it parses to. */
  | { ok: false; error: ConfigError; empty?: true };

export interface ConfigWatcher {
  close(): void;
  /** Tell the watcher the file now holds `text` (written by us), so that change is not reported. */
  expect(text: string): void;
}

// ---- where -----------------------------------------------------------------------------------

/** `--config PATH`, else $LLM_MANAGER_CONFIG, else `<cwd>/config.yaml`; always absolute. */
export function resolveConfigPath(options: { cliPath?: string | undefined; env: NodeJS.ProcessEnv; cwd: string }): string {
  const chosen = nonEmpty(options.cliPath) ?? nonEmpty(options.env[CONFIG_ENV_VAR]) ?? DEFAULT_CONFIG_NAME;
  return path.resolve(options.cwd, expandHome(chosen));
}

/** `~` or `~/x` (also `~\x`) → the home folder; anything else unchanged. */
export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

/**
 * Copies the example to `configPath` when there is no file there yet; `created` says whether it
 * did. Only into a folder that exists, unless `createFolder` (the desktop app's own user-data
 * folder on first run): a path given by hand whose folder is missing is a typo, not a wish for a
 * new config, and serving the demo from there would hide it.
 */
export function ensureConfigFile(configPath: string, examplePath: string, options: { createFolder?: boolean } = {}): { created: boolean } {
  const target = path.resolve(configPath);
  if (fs.existsSync(target)) return { created: false };
  const folder = path.dirname(target);
  if (options.createFolder !== true) {
    let kind: 'missing' | 'file' | 'dir' = 'missing';
    try {
      kind = fs.statSync(folder).isDirectory() ? 'dir' : 'file';
    } catch {
      // missing (or unreadable): said below
    }
    if (kind !== 'dir') {
      const what = kind === 'file' ? `${folder} is a file, not a folder` : `its folder ${folder} does not exist either`;
      throw ConfigError.io(target, `config file not found: ${target}, and ${what}. Check the path: a new config is created only in a folder that exists.`, kind === 'file' ? 'ENOTDIR' : 'ENOENT');
    }
  }
  if (!fs.existsSync(examplePath)) {
    throw ConfigError.io(
      target,
      `config file not found: ${target}, and the example to create it from is missing too: ${path.resolve(examplePath)}`,
      'ENOENT',
    );
  }
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const text = exampleTextFor(target, examplePath);
    fs.writeFileSync(target, text, { flag: 'wx' });
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return { created: false }; // someone else created it meanwhile
    throw ConfigError.io(target, `cannot create config file ${target} from ${path.resolve(examplePath)}: ${describeErrno(err)}`, errnoCode(err));
  }
  return { created: true };
}

/**
 * The example's demo models launch `scripts/demo-engine.mjs` relative to the example's folder. A
 * copy placed elsewhere (the desktop app's user-data folder) gets that path made absolute, so the
 * demo works wherever the config lives.
 */
export function exampleTextFor(target: string, examplePath: string): string {
  const text = fs.readFileSync(examplePath, 'utf8');
  const exampleDir = path.dirname(path.resolve(examplePath));
  if (path.dirname(target) === exampleDir) return text;
  const demo = path.join(exampleDir, 'scripts', 'demo-engine.mjs');
  return text.replaceAll('"scripts/demo-engine.mjs"', JSON.stringify(demo));
}

// ---- load ------------------------------------------------------------------------------------

/** Reads, validates and resolves the config file. Throws ConfigError (never anything else) when it cannot. */
export function loadConfig(configPath: string): LoadedConfig {
  const file = path.resolve(configPath);
  const text = readConfigText(file);
  const loaded = fromText(file, text);
  notifyWatchers(file, text);
  return loaded;
}

/**
 * A copy of `config` with relative paths made absolute against `dir` (the config file's folder)
 * and a leading `~` expanded: profile script_path and cwd (default: `dir`), command only when it
 * contains a path separator (a bare `node` stays a PATH lookup), program.log_dir and
 * program.device_plugin_dir.
 */
export function resolveConfigPaths(config: AppConfig, dir: string): AppConfig {
  const resolvePath = (p: string) => path.resolve(dir, expandHome(p));
  const resolveCommand = (c: string) => (hasPathSeparator(c) || c.startsWith('~') ? resolvePath(c) : c);
  // vLLM / SGLang take a folder or a Hugging Face id ("Qwen/Qwen2.5-7B-Instruct"): only what is
  // written as a path (absolute, ~, ./, ../) is one.
  const resolveModelRef = (m: string) => (path.isAbsolute(m) || /^(~|\.{1,2})([\\/]|$)/.test(m) || /^[A-Za-z]:[\\/]/.test(m) ? resolvePath(m) : m);
  const engine = (e: EngineSpec): EngineSpec =>
    e.kind === 'llama.cpp'
      ? { ...e, model: /^hf:/i.test(e.model) ? e.model : resolvePath(e.model), mmproj: e.mmproj === null ? null : resolvePath(e.mmproj), extraArgs: [...e.extraArgs] }
      : { ...e, model: resolveModelRef(e.model), extraArgs: [...e.extraArgs] };
  const profile = (p: LaunchProfile): LaunchProfile => {
    const spec = p.engine ? engine(p.engine) : undefined;
    const modelPath = spec ? spec.model : p.modelPath !== undefined ? resolvePath(p.modelPath) : undefined;
    return {
      ...p,
      requiredDevices: [...p.requiredDevices],
      args: [...p.args],
      env: { ...p.env },
      memoryMb: { ...p.memoryMb },
      scriptPath: p.scriptPath === null ? null : resolvePath(p.scriptPath),
      command: p.command === null ? null : resolveCommand(p.command),
      cwd: nonEmpty(p.cwd) === undefined ? dir : resolvePath(p.cwd!.trim()),
      ...(spec ? { engine: spec } : {}),
      ...(modelPath !== undefined ? { modelPath } : {}),
    };
  };
  const pluginDir = nonEmpty(config.program.devicePluginDir);
  const bin = (words: string[] | null | undefined) => (words ? [resolveCommand(words[0]!), ...words.slice(1)] : null);
  const engines = config.program.engines;
  const program = {
    ...config.program,
    logDir: resolvePath(config.program.logDir),
    devicePluginDir: pluginDir === undefined ? null : resolvePath(pluginDir),
    ...(engines ? { engines: { llamaServer: bin(engines.llamaServer), vllm: bin(engines.vllm), sglang: bin(engines.sglang) } } : {}),
    ...(config.program.modelsDirs ? { modelsDirs: config.program.modelsDirs.map(resolvePath) } : {}),
  };
  const has = (command: string) => findExecutable(command) !== null;
  return {
    program,
    models: config.models.map((model) => ({
      ...model,
      aliases: [...model.aliases],
      // Engine profiles become command + args here (core/engines): from now on they launch like any other.
      profiles: model.profiles.map((p) => renderProfile(profile(p), model, program.engines, has)),
    })),
    ...(config.peers ? { peers: config.peers.map((p) => ({ ...p })) } : {}),
  };
}

function readConfigText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = errnoCode(err);
    const message =
      code === 'ENOENT' ? `config file not found: ${file}`
      : code === 'EACCES' || code === 'EPERM' ? `permission denied reading config file: ${file}`
      : code === 'EISDIR' ? `config path is a folder, not a file: ${file}`
      : `cannot read config file ${file}: ${describeErrno(err)}`;
    throw ConfigError.io(file, message, code);
  }
  return decodeText(bytes);
}

/** UTF-8 without its BOM; a UTF-16 LE file (Windows Notepad's "Unicode") is decoded too. */
function decodeText(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function fromText(file: string, text: string): LoadedConfig {
  return fromParsed(file, text, parseConfigText(text, path.basename(file)));
}

function fromParsed(file: string, text: string, result: ConfigParseResult): LoadedConfig {
  if (!result.ok) throw new ConfigError(file, result.errors, { warnings: result.warnings });
  const dir = path.dirname(file);
  return { config: resolveConfigPaths(result.config, dir), warnings: result.warnings, text, dir, spans: result.spans };
}

// ---- save ------------------------------------------------------------------------------------

/**
 * Validates `text` and replaces the file with it atomically (temp file in the same folder, fsync,
 * previous version kept as `<path>.bak`, older ones shifted to `.bak.1` … `.bak.9`, rename). An
 * invalid text throws ConfigError and writes nothing; on any failure the original file is
 * untouched and the temp file is removed. `parsed`: the text's parse, when the caller has it
 * already (parsed off the event loop).
 */
export function saveConfigText(configPath: string, text: string, parsed?: ConfigParseResult): { config: AppConfig; warnings: ConfigIssue[]; spans: ConfigSpans } {
  const requested = path.resolve(configPath);
  // Relative paths resolve against the path the config was given by, as loadConfig does.
  const loaded = fromParsed(requested, text, parsed ?? parseConfigText(text, path.basename(requested)));
  // A symlinked config.yaml (dotfiles) keeps its link: the file it points to is replaced.
  const file = realPathOr(requested);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let existingMode: number | undefined;
  try {
    const stat = fs.statSync(file);
    if (stat.isDirectory()) throw ConfigError.io(requested, `config path is a folder, not a file: ${requested}`, 'EISDIR');
    existingMode = stat.mode & 0o777;
    fs.accessSync(file, fs.constants.W_OK); // a read-only config.yaml is one the user wants left alone
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = errnoCode(err);
    if (code === 'EACCES' || code === 'EPERM') throw ConfigError.io(requested, `config file is read-only: ${requested}`, code);
    if (code !== 'ENOENT') throw ConfigError.io(requested, `cannot save config file ${requested}: ${describeErrno(err)}`, code);
  }

  let step = 'write a temporary file in its folder';
  try {
    const fd = fs.openSync(tmp, 'wx', existingMode ?? 0o644);
    try {
      fs.writeFileSync(fd, text, 'utf8');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (existingMode !== undefined) {
      step = `keep the previous version as ${path.basename(file)}.bak`;
      keepBackup(file, text);
    }
    step = 'replace it';
    renameWithRetry(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more we can do; the original is untouched either way
    }
    throw ConfigError.io(requested, `cannot save config file ${requested}: could not ${step}: ${describeErrno(err)}`, errnoCode(err));
  }
  fsyncDir(dir);
  notifyWatchers(requested, text);
  if (file !== requested) notifyWatchers(file, text);
  return { config: loaded.config, warnings: loaded.warnings, spans: loaded.spans };
}

/** Windows refuses a rename while another process (an editor, a virus scanner) briefly holds the file. */
function renameWithRetry(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (process.platform !== 'win32' || attempt >= 5 || (code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY')) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 * (attempt + 1));
    }
  }
}

/** Makes the rename itself durable where the platform allows it (not on Windows: EISDIR/EPERM). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort: the new file is already in place; EISDIR/EPERM (Windows), EINVAL (some file systems).
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}

// ---- watch -----------------------------------------------------------------------------------

const watchers = new Map<string, Set<{ expect(text: string): void }>>();

function watchKey(file: string): string {
  return process.platform === 'win32' || process.platform === 'darwin' ? file.toLowerCase() : file;
}

function notifyWatchers(file: string, text: string): void {
  for (const watcher of watchers.get(watchKey(file)) ?? []) watcher.expect(text);
}

/**
 * Calls `onChange` after the file changes on disk (debounced), with the freshly loaded config or
 * the error. Watches the folder, since editors save by writing a new file and renaming it over the
 * old one. Changes that leave the text as it was last loaded or saved (loadConfig/saveConfigText in
 * this process tell every watcher; `expect` does so by hand) are not reported.
 */
export function watchConfig(
  configPath: string,
  onChange: (result: ConfigChange) => void,
  options: { debounceMs?: number; parse?: (text: string, fileName: string) => Promise<ConfigParseResult> } = {},
): ConfigWatcher {
  const file = path.resolve(configPath);
  const dir = path.dirname(file);
  const name = path.basename(file);
  const key = watchKey(file);
  const sameName = (f: string) => (process.platform === 'win32' || process.platform === 'darwin' ? f.toLowerCase() === name.toLowerCase() : f === name);
  const debounceMs = options.debounceMs ?? 150;

  let lastText: string | null = tryRead(file);
  let timer: NodeJS.Timeout | undefined;
  let missingRetries = 0;
  let emptyRetries = 0;
  let closed = false;
  // A large text is parsed off the event loop: only the newest read may report.
  let reads = 0;
  const parse = options.parse ?? (async (text: string, fileName: string) => (await parseConfigOffThread(text, { fileName })).result);

  const emit = (result: ConfigChange) => {
    if (closed) return;
    try {
      onChange(result);
    } catch (err) {
      // A faulty listener must not take the watcher (or the process) down with it.
      console.error(`config watcher: change handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const check = () => {
    timer = undefined;
    if (closed) return;
    let text: string;
    try {
      text = readConfigText(file);
    } catch (err) {
      const error = err instanceof ConfigError ? err : ConfigError.io(file, `cannot read config file ${file}: ${describeErrno(err)}`);
      // Editors may delete and recreate the file: look again once before calling it gone.
      if (error.code === 'ENOENT' && missingRetries++ < 1) {
        schedule();
        return;
      }
      if (lastText === null) return; // already reported as unreadable
      lastText = null;
      reads += 1;
      emit({ ok: false, error });
      return;
    }
    missingRetries = 0;
    if (text === lastText) return;
    const read = ++reads;
    if (text.trim() === '') {
      // An editor that saves in place truncates first: an empty read right after a non-empty file
      // is most likely half a save. Look again; still empty, it is not applied (it would stop
      // every model): removing them all is a save with confirmation, from the window or /api.
      if (lastText !== null && lastText.trim() !== '' && emptyRetries++ < 1) {
        schedule();
        return;
      }
      emptyRetries = 0;
      lastText = text;
      const issue: ConfigIssue = { severity: 'error', path: '', message: 'the file is empty; still running the last config', line: 1, col: 1, from: 0, to: 0 };
      emit({ ok: false, empty: true, error: new ConfigError(file, [issue], { message: `${file} is empty; not applied, still running the last config` }) });
      return;
    }
    emptyRetries = 0;
    lastText = text;
    void parse(text, name).then(
      (result) => {
        if (read !== reads) return; // a newer edit is on its way
        try {
          const loaded = fromParsed(file, text, result);
          emit({ ok: true, config: loaded.config, warnings: loaded.warnings, text, spans: loaded.spans });
        } catch (err) {
          emit({ ok: false, error: err instanceof ConfigError ? err : ConfigError.io(file, `cannot load config file ${file}: ${String(err)}`) });
        }
      },
      (err: unknown) => {
        if (read === reads) emit({ ok: false, error: ConfigError.io(file, `cannot load config file ${file}: ${String(err)}`) });
      },
    );
  };

  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  };

  let fsWatcher: fs.FSWatcher;
  try {
    fsWatcher = fs.watch(dir, { persistent: false }, (_event, filename) => {
      if (filename === null || sameName(filename.toString())) {
        missingRetries = 0;
        emptyRetries = 0;
        schedule();
      }
    });
  } catch (err) {
    throw ConfigError.io(file, `cannot watch the config folder ${dir}: ${describeErrno(err)}`, errnoCode(err));
  }
  fsWatcher.on('error', (err) => {
    // The folder went away or the OS stopped delivering events: say so once and stop.
    emit({ ok: false, error: ConfigError.io(file, `stopped watching the config file ${file}: ${describeErrno(err)}`, errnoCode(err)) });
    handle.close();
  });

  const handle: ConfigWatcher = {
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      fsWatcher.close();
      const set = watchers.get(key);
      set?.delete(handle);
      if (set && set.size === 0) watchers.delete(key);
    },
    expect(text: string) {
      lastText = text;
      reads += 1; // a parse of an older read still under way must not report over it
    },
  };
  let set = watchers.get(key);
  if (!set) watchers.set(key, (set = new Set()));
  set.add(handle);
  return handle;
}

function realPathOr(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file; // does not exist yet
  }
}

function tryRead(file: string): string | null {
  try {
    return readConfigText(file);
  } catch {
    return null;
  }
}

// ---- helpers ---------------------------------------------------------------------------------

function nonEmpty(value: string | null | undefined): string | undefined {
  return value !== undefined && value !== null && value.trim() !== '' ? value : undefined;
}

function hasPathSeparator(p: string): boolean {
  return p.includes('/') || p.includes(path.sep);
}

function errnoCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function describeErrno(err: unknown): string {
  const code = errnoCode(err);
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a folder',
    ENOTDIR: 'a parent is not a folder',
    ENOSPC: 'no space left on the disk',
    EROFS: 'read-only file system',
    EBUSY: 'the file is in use',
    EEXIST: 'already exists',
  };
  if (code && reasons[code]) return `${reasons[code]} (${code})`;
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}
