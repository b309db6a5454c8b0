// `llm-manager check-config [--fix] FILE`: a config from LLM-Node or LLM-Manager (YAML, or the JSON
// of LLM-Manager before 2.1) checked for what this app does differently, each change with its
// reason, and converted on request. The YAML is edited in place (comments and order kept); a JSON
// file becomes a YAML file beside it.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Document, isMap, isScalar, isSeq, parseDocument, Scalar, type Pair, type YAMLMap } from 'yaml';
import { formatIssue, parseConfigText } from '../../../src-shared/config.js';
import { expandHome, saveConfigText } from '../config/load.js';
import { isLoopbackHost } from '../security/host.js';

export interface SeedFinding {
  /** Where: a key path (`Local-Models.qwen.GPU.script_path`) or a file. */
  where: string;
  message: string;
}

export interface SeedReport {
  file: string;
  /** What --fix changes, and why. */
  changes: SeedFinding[];
  /** What needs a person (no safe automatic change): reported, never guessed. */
  problems: SeedFinding[];
  /** Parser warnings that remain (ignored keys …): the file works with them. */
  notes: string[];
  /** The file --fix writes: FILE itself, or FILE.yaml for a JSON file. */
  target: string;
  /** The converted text; null when the file can't be read as a config at all. */
  text: string | null;
  /** The key --fix adds to program.api_keys, when it adds one. */
  newKey: string | null;
  /** The converted text is a config the node loads (only such a text is written). */
  loads: boolean;
}

export interface SeedOptions {
  /** Whose scripts to look for: .bat/.cmd run only on Windows, .sh everywhere else. */
  platform: NodeJS.Platform;
  /** Make a non-loopback host without keys listen on 127.0.0.1 instead of adding a key. */
  loopback?: boolean;
  newKey?: () => string;
}

const WINDOWS_SCRIPT = /\.(bat|cmd)$/i;
const SHELL_SCRIPT = /\.sh$/i;

/** Reads and checks `file`; never writes. */
export function checkSeedConfigFile(file: string, options: SeedOptions): SeedReport {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    return failed(absolute, `can't read ${absolute}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return checkSeedConfig(absolute, text, options);
}

export function checkSeedConfig(file: string, text: string, options: SeedOptions): SeedReport {
  const dir = path.dirname(file);
  const changes: SeedFinding[] = [];
  const problems: SeedFinding[] = [];
  let target = file;
  let doc: Document;
  const json = /\.json$/i.test(file) || text.trimStart().startsWith('{');
  if (json) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      return failed(file, `not valid JSON: ${(err as Error).message}`);
    }
    doc = new Document(data);
    target = path.join(dir, `${path.basename(file, path.extname(file))}.yaml`);
    if (target === file) target = `${file}.yaml`;
    changes.push({ where: path.basename(file), message: `JSON (LLM-Manager before 2.1) → YAML in ${path.basename(target)}: LLM Manager reads config.yaml; the JSON file is left as it is` });
  } else {
    doc = parseDocument(text, { uniqueKeys: false });
    if (doc.errors.length > 0) return failed(file, `YAML syntax: ${doc.errors[0]!.message.split('\n')[0]}`);
  }

  const program = doc.get('program');
  const newKey = isMap(program) ? fixHost(doc, program, options, changes) : null;

  const models = doc.get('Local-Models');
  if (isMap(models)) {
    for (const modelPair of models.items) {
      if (!isMap(modelPair.value)) continue;
      const model = String(keyOf(modelPair));
      for (const profilePair of modelPair.value.items) {
        if (!isMap(profilePair.value)) continue;
        const where = `Local-Models.${model}.${String(keyOf(profilePair))}`;
        checkProfile(profilePair.value, where, dir, options.platform, changes, problems);
      }
    }
  }
  if (isMap(program)) checkPlugins(program, dir, problems);

  const out = json ? doc.toString({ lineWidth: 0 }) : changes.length > 0 ? doc.toString({ lineWidth: 0 }) : text;
  const notes: string[] = [];
  const parsed = parseConfigText(out, path.basename(target));
  if (!parsed.ok) for (const issue of parsed.errors) problems.push({ where: issue.path || path.basename(target), message: formatIssue(path.basename(target), issue) });
  for (const issue of parsed.warnings) notes.push(formatIssue(path.basename(target), issue));
  return { file, changes, problems, notes, target, text: out, newKey, loads: parsed.ok };
}

/**
 * Writes the converted text (atomically; a file replaced is kept as `.bak`, the older backups
 * shifted as the app's own saves do). Only a text the node can load is written.
 */
export function writeSeedFix(report: SeedReport): void {
  if (report.text === null) throw new Error(`${report.file} can't be converted`);
  saveConfigText(report.target, report.text);
}

// ---- checks ----------------------------------------------------------------------------------

/** Seeds listened on 0.0.0.0 without a key; LLM Manager refuses that (security/host.ts bindProblem). */
function unsafeHost(program: YAMLMap): string | null {
  const host = program.get('host');
  if (typeof host !== 'string' || isLoopbackHost(host)) return null;
  const keys = program.get('api_keys');
  if (isSeq(keys) && keys.items.length > 0) return null;
  if (program.get('allow_insecure_lan') === true) return null;
  return host;
}

/** A non-loopback host without keys gets a new key (or, with --loopback, 127.0.0.1); returns the key added. */
function fixHost(doc: Document, program: YAMLMap, options: SeedOptions, changes: SeedFinding[]): string | null {
  const host = unsafeHost(program);
  if (host === null) return null;
  if (options.loopback) {
    program.set('host', '127.0.0.1'); // a plain value: the scalar keeps its quotes and comment
    changes.push({
      where: 'program.host',
      message: `"${host}" → "127.0.0.1": without api_keys LLM Manager listens on this computer only (on "${host}" anyone on the network could use your models and start, stop and reconfigure them)`,
    });
    return null;
  }
  const key = (options.newKey ?? (() => randomBytes(24).toString('base64url')))();
  const keys = doc.createNode([key]);
  keys.flow = true;
  program.set('api_keys', keys);
  changes.push({
    where: 'program.api_keys',
    message: `add a new random key: host "${host}" is reachable from other machines, and LLM Manager refuses that without a key (clients then send "Authorization: Bearer <key>"); or use --loopback to listen on 127.0.0.1 instead`,
  });
  return key;
}

function checkProfile(profile: YAMLMap, where: string, dir: string, platform: NodeJS.Platform, changes: SeedFinding[], problems: SeedFinding[]): void {
  const legacy = profile.items.find((p) => keyOf(p) === 'bat_path');
  if (legacy) {
    if (profile.has('script_path')) {
      problems.push({ where: `${where}.bat_path`, message: 'both bat_path and script_path are set: keep one (script_path)' });
      return;
    }
    legacy.key = new Scalar('script_path');
    changes.push({ where: `${where}.bat_path`, message: 'bat_path → script_path: its name since LLM-Manager 2.1 (bat_path is still read, with a warning)' });
  }
  const script = profile.get('script_path');
  if (typeof script !== 'string' || script.trim() === '') return;
  const windows = platform === 'win32';
  if (windows ? !SHELL_SCRIPT.test(script) : !WINDOWS_SCRIPT.test(script)) return;
  const kind = windows ? 'a shell script (.sh), which Windows runs only through bash' : 'a Windows script, which runs only under cmd.exe';
  // Seeds wrote Windows paths; on Linux their backslashes are folder separators.
  const written = windows ? script : script.replace(/\\/g, '/');
  if (!windows && /^[A-Za-z]:\//.test(written)) {
    problems.push({ where: `${where}.script_path`, message: `${script} is ${kind}, on a Windows drive: on this machine write a .sh script (e.g. exec llama-server -m … --port "$PORT") and set script_path to it, or use command + args` });
    return;
  }
  const candidates = windows ? ['.bat', '.cmd'] : ['.sh'];
  for (const ext of candidates) {
    const replacement = written.replace(windows ? SHELL_SCRIPT : WINDOWS_SCRIPT, ext);
    if (fs.existsSync(path.resolve(dir, expandHome(replacement)))) {
      profile.set('script_path', replacement);
      changes.push({ where: `${where}.script_path`, message: `${script} → ${replacement}: ${script} is ${kind}; the ${ext} next to it is the one for this system` });
      return;
    }
  }
  const sibling = written.replace(windows ? SHELL_SCRIPT : WINDOWS_SCRIPT, candidates[0]!);
  problems.push({
    where: `${where}.script_path`,
    message: windows
      ? `${script} is ${kind}, and there is no ${sibling} next to it: write one (llama-server.exe … --port %PORT%) and set script_path to it, or use command + args`
      : `${script} is ${kind}, and there is no ${sibling} next to it: write one (e.g. exec llama-server -m … --port "$PORT") and set script_path to it, or use command + args`,
  });
}

function checkPlugins(program: YAMLMap, dir: string, problems: SeedFinding[]): void {
  const pluginDir = program.get('device_plugin_dir');
  if (typeof pluginDir !== 'string' || pluginDir.trim() === '') return;
  let files: string[];
  try {
    files = fs.readdirSync(path.resolve(dir, expandHome(pluginDir.replace(/\\/g, '/'))));
  } catch {
    return;
  }
  for (const name of files.filter((f) => /\.py$/i.test(f)).sort()) {
    const builtIn = /nvidia|cuda|cpu|gpu|rtx|tesla/i.test(name);
    problems.push({
      where: path.join(pluginDir, name),
      message: builtIn
        ? `a Python device plugin, which LLM Manager doesn't load: NVIDIA GPUs (through nvidia-smi), the CPU and RAM are read without plugins, so delete it once the Devices page shows your cards`
        : `a Python device plugin, which LLM Manager doesn't load: port it to a .mjs module in the same folder that exports probe({ run }) and returns [{ name, memory: { totalMb, freeMb } }] (run(file, args) runs the command your plugin ran; see plugins/devices/example-rocm.mjs), then delete the .py`,
    });
  }
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

function failed(file: string, message: string): SeedReport {
  return { file, changes: [], problems: [{ where: path.basename(file), message }], notes: [], target: file, text: null, newKey: null, loads: false };
}
