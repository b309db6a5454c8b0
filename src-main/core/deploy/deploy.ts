// The Deploy form's half of the core: a DeploySpec becomes a config.yaml entry with one engine
// profile, shown (the exact command, rendered by core/engines as a start would) and saved through
// the Config page's own save (validated, atomic, a backup kept), with only the entry's lines added
// to the file. Removing a model takes its lines out the same way. Loaded on first use.
import fs from 'node:fs';
import path from 'node:path';
import type { AppConfig, ConfigIssue } from '../../../src-shared/config.js';
import { DEFAULT_OLLAMA_URL, ENGINE_KINDS, parseConfigText } from '../../../src-shared/config.js';
import type {
  ConfigCheckResult,
  ConfigSaveOptions,
  ConfigSaveResult,
  DeployPreview,
  DeployRequest,
  DeployResult,
  DeploySpec,
  DevicesSnapshot,
  LibraryListing,
  ModelInfo,
  RemoveModelOptions,
  RemoveModelResult,
} from '../../../src-shared/contract.js';
import { defaultContext, estimateGgufMemory, type MemoryEstimate } from '../../../src-shared/deploy-estimate.js';
import { ApiError } from '../../../src-shared/errors.js';
import { expandHome, resolveConfigPaths } from '../config/load.js';
import { addModelEntry, entryText, removeModelEntry } from './config-edit.js';

export interface DeployContext {
  configPath: string;
  /** config.yaml's text now. */
  text: () => string;
  /** The config the node runs with (paths resolved). */
  current: () => AppConfig;
  check: (text: string) => Promise<ConfigCheckResult>;
  save: (text: string, options?: ConfigSaveOptions) => Promise<ConfigSaveResult>;
  library: () => Promise<LibraryListing>;
  devices: () => Promise<DevicesSnapshot>;
  /** program.models_dirs, absolute. */
  modelsDirs: () => readonly string[];
  startModel: (name: string) => Promise<ModelInfo>;
  stopModel: (name: string) => Promise<unknown>;
  modelInfo: (name: string) => Promise<ModelInfo>;
  /** The model's canonical name, from a name or alias; null when there is none. */
  resolveName: (nameOrAlias: string) => string | null;
}

interface BuiltEntry {
  entry: Record<string, unknown>;
  memoryMb: Record<string, number>;
  estimate: MemoryEstimate | null;
}

const HF_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DEFAULT_GPU_SHARE = 0.9;

export class Deployer {
  constructor(private readonly ctx: DeployContext) {}

  async preview(spec: DeploySpec): Promise<DeployPreview> {
    const { built, text } = await this.prepare(spec);
    const check = await this.ctx.check(text);
    const mine = check.issues.filter((issue) => isAbout(issue, spec.name) || issue.severity === 'error');
    const command = check.ok ? this.render(text, spec.name) : null;
    return {
      name: spec.name,
      command: command ? command.join(' ') : '',
      argv: command ?? [],
      entry: entryText(spec.name, built.entry, ''),
      memoryMb: built.memoryMb,
      estimate: built.estimate,
      ok: check.ok,
      issues: mine,
    };
  }

  async deploy(request: DeployRequest): Promise<DeployResult> {
    const { start, ...spec } = request;
    const { built, text } = await this.prepare(spec);
    const saved = await this.ctx.save(text);
    const entry = entryText(spec.name, built.entry, '');
    if (!saved.ok) return { saved, model: null, entry };
    const model = start ? await this.ctx.startModel(spec.name) : await this.ctx.modelInfo(spec.name);
    return { saved, model, entry };
  }

  async remove(nameOrAlias: string, options: RemoveModelOptions = {}): Promise<RemoveModelResult> {
    const name = this.ctx.resolveName(nameOrAlias);
    const model = name === null ? undefined : this.ctx.current().models.find((m) => m.name === name);
    if (!name || !model) throw new ApiError(404, 'model_not_found', `model "${nameOrAlias}" does not exist`);
    const next = removeModelEntry(this.ctx.text(), name);
    if (next === null) throw new ApiError(404, 'model_not_found', `model "${name}" is not in ${path.basename(this.ctx.configPath)} (was the file edited just now?)`);
    // Stopped first, so its files are closed before they may be deleted.
    await this.ctx.stopModel(name);
    const saved = await this.ctx.save(next, { confirmRemoveAll: true });
    const files = modelFiles(model.profiles);
    const deletedFiles: string[] = [];
    const keptFiles: { path: string; reason: string }[] = [];
    if (!saved.ok) return { saved, deletedFiles, keptFiles: files.map((p) => ({ path: p, reason: 'the entry was not removed' })) };
    const usedElsewhere = new Set(this.ctx.current().models.flatMap((m) => modelFiles(m.profiles)));
    const dirs = this.ctx.modelsDirs().map(realPath);
    const listing = options.deleteFiles ? await this.ctx.library().catch(() => null) : null;
    for (const file of files) {
      if (!options.deleteFiles) {
        keptFiles.push({ path: file, reason: 'files stay unless delete_files is asked for' });
        continue;
      }
      const why = deletable(file, dirs, usedElsewhere);
      if (why) {
        keptFiles.push({ path: file, reason: why });
        continue;
      }
      // A split model goes whole.
      const parts = listing?.entries.find((e) => e.path === file)?.splitParts ?? [file];
      for (const part of parts) {
        try {
          fs.rmSync(part);
          deletedFiles.push(part);
        } catch (err) {
          keptFiles.push({ path: part, reason: `couldn't delete it: ${(err as Error).message}` });
        }
      }
    }
    return { saved, deletedFiles, keptFiles };
  }

  /** The entry and the config text with it added, or a clear refusal. */
  private async prepare(spec: DeploySpec): Promise<{ built: BuiltEntry; text: string }> {
    if (!(ENGINE_KINDS as readonly string[]).includes(spec.engine) && spec.engine !== 'ollama') {
      throw new ApiError(400, 'unknown_engine', `unknown engine "${spec.engine}": expected one of ${ENGINE_KINDS.join(', ')}, ollama`);
    }
    const name = spec.name.trim();
    const taken = this.ctx.resolveName(name) ?? this.ctx.current().models.find((m) => m.name.toLowerCase() === name.toLowerCase())?.name ?? null;
    if (taken !== null) {
      throw new ApiError(409, 'model_name_taken', taken === name ? `there is a model called "${name}" already: pick another name, or remove that one first` : `"${name}" is taken by the model "${taken}": pick another name`);
    }
    const built = await this.buildEntry({ ...spec, name });
    return { built, text: addModelEntry(this.ctx.text(), name, built.entry) };
  }

  private async buildEntry(spec: DeploySpec): Promise<BuiltEntry> {
    const dir = path.dirname(path.resolve(this.ctx.configPath));
    const devices = (spec.devices ?? []).filter((d) => d.trim() !== '');
    const onGpu = devices.length > 0;
    const model: Record<string, unknown> = {};
    if (spec.aliases && spec.aliases.length > 0) model['aliases'] = spec.aliases;
    model['mode'] = spec.mode ?? 'Chat';
    if (spec.port !== undefined && spec.port !== null) model['port'] = spec.port;
    if (spec.autoStart) model['auto_start'] = true;
    if (spec.engine === 'ollama') {
      // Ollama runs the model itself: the entry names it and the server; nothing to launch or reserve.
      const base = spec.baseUrl?.trim().replace(/\/+$/, '');
      model['Ollama'] = { engine: 'ollama', model: spec.model.trim(), ...(base && base !== DEFAULT_OLLAMA_URL ? { base_url: base } : {}) };
      return { entry: model, memoryMb: {}, estimate: null };
    }
    const profile: Record<string, unknown> = { engine: spec.engine };
    let estimate: MemoryEstimate | null = null;
    let memoryMb: Record<string, number> = {};

    if (spec.engine === 'llama.cpp') {
      const hf = /^hf:/i.test(spec.model);
      const file = hf ? null : path.resolve(dir, expandHome(spec.model));
      if (file !== null && !isFile(file)) {
        throw new ApiError(400, 'model_file_missing', `there is no file at ${file}: pick one from the library, or download it first`);
      }
      profile['model'] = file === null ? spec.model : written(file, dir);
      const entry = file === null ? undefined : (await this.ctx.library().catch(() => null))?.entries.find((e) => e.path === file);
      const context = spec.context ?? defaultContext(entry?.contextLength);
      profile['context'] = context;
      const gpuLayers = spec.gpuLayers ?? (onGpu ? 'all' : 0);
      profile['gpu_layers'] = gpuLayers;
      if (entry?.mmproj?.[0]) profile['mmproj'] = written(entry.mmproj[0], dir);
      if (file !== null) {
        estimate = estimateGgufMemory({ fileBytes: entry?.sizeBytes ?? fs.statSync(file).size, context, parameters: entry?.parameters ?? null });
      }
    } else {
      const looksLikePath = path.isAbsolute(spec.model) || /^(~|\.{1,2})([\\/]|$)/.test(spec.model);
      if (looksLikePath) {
        const folder = path.resolve(dir, expandHome(spec.model));
        if (!isDir(folder)) throw new ApiError(400, 'model_file_missing', `there is no model folder at ${folder}: give a folder with the model's files, or a Hugging Face id like "Qwen/Qwen2.5-7B-Instruct"`);
        profile['model'] = folder;
      } else if (!HF_ID.test(spec.model)) {
        throw new ApiError(400, 'model_file_missing', `"${spec.model}" is neither a model folder (write it as an absolute path or starting with ./) nor a Hugging Face id like "Qwen/Qwen2.5-7B-Instruct"`);
      } else {
        profile['model'] = spec.model;
      }
      if (spec.context) profile['max_model_len'] = spec.context;
      const share = spec.gpuMemoryUtilization ?? DEFAULT_GPU_SHARE;
      profile['gpu_memory_utilization'] = share;
      if (devices.length > 1) profile['tensor_parallel_size'] = devices.length;
      // vLLM and SGLang take their share of each GPU, whatever the model.
      const snapshot = onGpu ? await this.ctx.devices().catch(() => null) : null;
      for (const id of devices) {
        const total = snapshot?.devices.find((d) => d.id === id)?.memory?.totalMb;
        if (total) memoryMb[id] = Math.round(total * share);
      }
    }
    profile['required_devices'] = devices;
    if (spec.memoryMb !== undefined && spec.memoryMb !== null) {
      memoryMb = spreadOver(devices, spec.memoryMb);
    } else if (estimate) {
      const ramOnly = spec.engine === 'llama.cpp' && (!onGpu || spec.gpuLayers === 0);
      memoryMb = ramOnly ? { cpu: estimate.totalMb } : spreadOver(devices, estimate.totalMb);
    }
    if (Object.keys(memoryMb).length > 0) profile['memory_mb'] = memoryMb;
    if (spec.extraArgs && spec.extraArgs.length > 0) profile['extra_args'] = spec.extraArgs;
    model[onGpu ? 'GPU-Config' : 'CPU-Config'] = profile;
    return { entry: model, memoryMb, estimate };
  }

  /** The command line a start will run (the port as ${PORT} when it is given at start). */
  private render(text: string, name: string): string[] | null {
    const parsed = parseConfigText(text, path.basename(this.ctx.configPath));
    if (!parsed.ok) return null;
    const resolved = resolveConfigPaths(parsed.config, path.dirname(path.resolve(this.ctx.configPath)));
    const profile = resolved.models.find((m) => m.name === name)?.profiles[0];
    if (!profile?.command) return null;
    return [profile.command, ...profile.args];
  }
}

/** The memory over the chosen devices, evenly; "cpu" when none (system RAM). */
function spreadOver(devices: readonly string[], totalMb: number): Record<string, number> {
  if (devices.length === 0) return { cpu: Math.round(totalMb) };
  return Object.fromEntries(devices.map((d) => [d, Math.round(totalMb / devices.length)]));
}

/** How a path is written in the config: relative to its folder when it is inside it. */
function written(file: string, dir: string): string {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

/** An issue of the entry being added (its path starts with Local-Models.<name>). */
function isAbout(issue: ConfigIssue, name: string): boolean {
  return issue.path === `Local-Models.${name}` || issue.path.startsWith(`Local-Models.${name}.`);
}

/** The model files a model's engine profiles name (resolved): what delete_files may delete. */
function modelFiles(profiles: AppConfig['models'][number]['profiles']): string[] {
  const out = new Set<string>();
  for (const p of profiles) {
    if (p.engine?.kind === 'llama.cpp' && !/^hf:/i.test(p.engine.model)) out.add(p.engine.model);
    else if (p.engine && path.isAbsolute(p.engine.model)) out.add(p.engine.model);
    else if (!p.engine && p.modelPath && path.isAbsolute(p.modelPath)) out.add(p.modelPath);
  }
  return [...out];
}

/** Why a file must stay (null: it may go): outside every models folder, a folder, used by another model. */
function deletable(file: string, dirs: readonly string[], usedElsewhere: ReadonlySet<string>): string | null {
  if (usedElsewhere.has(file)) return 'another model uses it';
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return 'it is not there';
  }
  if (!stat.isFile()) return 'it is not a plain file (a folder or a link): delete it yourself if you mean to';
  const real = realPath(file);
  const inside = dirs.some((dir) => {
    const rel = path.relative(dir, real);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  });
  return inside ? null : 'it is outside the models folders (program.models_dirs): only files in them are deleted';
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
