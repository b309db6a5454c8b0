// config.yaml: the schema (compatible with LLM-Manager / LLM-Node) and a parser whose every
// error names file:line:col and the key path. Pure: no node:* imports, so the window's editor
// validates with exactly the rules the node loads with.
import { z } from 'zod';
import { isCollection, isMap, isPair, isScalar, Lexer, LineCounter, parseDocument, visit, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from './duration.js';
import { encodingName } from './encodings.js';

export const MODEL_MODES = ['Chat', 'Base', 'Embedding', 'Reranker'] as const;
export type ModelMode = (typeof MODEL_MODES)[number];
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ProgramConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Default idle time before an engine is stopped; 0 = never. */
  aliveTimeMs: number;
  disableGpuMonitoring: boolean;
  devicePluginDir: string | null;
  /** GPU/RAM memory kept free beyond what a profile's memory_mb asks for (MB). */
  memoryHeadroomMb: number;
  /** Folder for per-model log files, as written (relative to the config file). */
  logDir: string;
  bodyLimitBytes: number;
  /** Keys a client must send (`Authorization: Bearer KEY` or `x-api-key`) on /v1 and /api; [] = none needed. */
  apiKeys: string[];
  /**
   * Each key's name, aligned with apiKeys (`{name, key}` entries; a bare key is "key-<position>"):
   * what usage is kept under. Absent: every key is "key-<position>".
   */
  apiKeyNames?: string[];
  /** program.usage: the request ledger (usage.sqlite beside config.yaml); null = off. Absent: the defaults. */
  usage?: UsageSettings | null;
  /** Web origins allowed to call the API from a page (CORS), lower-cased; "*" = any, for /v1 only. */
  corsOrigins: string[];
  /** Host header names accepted besides localhost and loopback addresses (DNS-rebinding guard), lower-cased. */
  allowedHosts: string[];
  /** Listen on a non-loopback address without api_keys (anyone on the network may use it). */
  allowInsecureLan: boolean;
  /**
   * Give every engine a key of its own (LLAMA_API_KEY, VLLM_API_KEY, LLM_MANAGER_ENGINE_KEY in its
   * environment) and send it on every forwarded request, so only the router can use an engine's port.
   */
  engineKeys: boolean;
  /** Requests that may wait for one model to start; more are answered 503 with Retry-After. */
  maxQueuedRequests: number;
  /** Time a client has to send a request's headers. */
  headerTimeoutMs: number;
  /** Time a client has to send a whole request (headers and body); 0 = no limit. Answers stream as long as they need. */
  requestTimeoutMs: number;
  /** Longest pause while a /v1 request body is read; 0 = no limit. */
  bodyTimeoutMs: number;
  /**
   * Encoding of engine output that isn't valid UTF-8 (a TextDecoder name such as "gbk"); absent =
   * auto: on Windows the console's code page (chcp), elsewhere none.
   */
  engineEncoding?: string;
  /**
   * The programs engine profiles run (program.engines): each a command prefix (the program and any
   * words before the engine's own arguments), as written; absent = the default looked up in PATH
   * (llama-server; vllm serve; python -m sglang.launch_server).
   */
  engines?: EngineBinaries;
  /** Ports a model without `port` is given one from at start (program.engine_ports), inclusive. */
  enginePorts?: PortRange;
  /**
   * Folders scanned for GGUF files (program.models_dirs), as written (relative to the config file);
   * default the app's own `models/`. LM Studio's folder and the Hugging Face cache are scanned too.
   */
  modelsDirs?: string[];
  /** Streaming requests that wait for a start get `: loading qwen 42%` SSE comments (program.loading_stream); a model's own key wins. */
  loadingStream?: boolean;
  /** A Hugging Face token for gated or private repos (program.hf_token); HF_TOKEN in the environment when absent. Sent only to hfEndpoint's host. */
  hfToken?: string;
  /** The Hugging Face hub downloads come from (program.hf_endpoint), without a trailing slash; absent: DEFAULT_HF_ENDPOINT. */
  hfEndpoint?: string;
}

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface UsageSettings {
  /** Requests and engine runs older than this many days are deleted. */
  keepDays: number;
  /** The database is kept under this many megabytes (the oldest requests go first). */
  maxMb: number;
  /** The label costs are shown with ("USD", "€"); prices in the config are in it. */
  currency: string;
}

export const DEFAULT_USAGE: UsageSettings = { keepDays: 365, maxMb: 200, currency: 'USD' };

/** One price band of a model's calendar month: up to `upToTokens` cumulative tokens (null: the last, open-ended band). */
export interface PriceTier {
  upToTokens: number | null;
  inputPer1m: number;
  outputPer1m: number;
}

/** What a model costs (Local-Models.<name>.pricing): per token in monthly tiers, per hour of engine time, or both. */
export interface ModelPricing {
  /** In order; empty: no token pricing. */
  tiers: PriceTier[];
  /** Per hour the engine runs (spawn to exit); null: none. */
  hourly: number | null;
}

export interface PortRange {
  from: number;
  to: number;
}

export const DEFAULT_ENGINE_PORTS: PortRange = { from: 20000, to: 20999 };

export type EngineKind = 'llama.cpp' | 'vllm' | 'sglang';
export const ENGINE_KINDS: readonly EngineKind[] = ['llama.cpp', 'vllm', 'sglang'];

export interface EngineBinaries {
  llamaServer: string[] | null;
  vllm: string[] | null;
  sglang: string[] | null;
}

/** A llama.cpp (llama-server) engine profile's typed fields. */
export interface LlamaCppEngine {
  kind: 'llama.cpp';
  /** A .gguf file path, or `hf:owner/repo[:quant]` / `hf:owner/repo/file.gguf` (llama-server downloads it). */
  model: string;
  context: number | null;
  gpuLayers: number | 'all' | 'auto' | null;
  threads: number | null;
  flashAttn: 'on' | 'off' | 'auto' | null;
  mmproj: string | null;
  parallel: number | null;
  extraArgs: string[];
}

/** A vLLM or SGLang engine profile's typed fields (the same keys; each engine has its own flag names). */
export interface PythonServerEngine {
  kind: 'vllm' | 'sglang';
  /** A model folder, or a Hugging Face id like "Qwen/Qwen2.5-7B-Instruct". */
  model: string;
  gpuMemoryUtilization: number | null;
  maxModelLen: number | null;
  dtype: string | null;
  tensorParallelSize: number | null;
  trustRemoteCode: boolean;
  extraArgs: string[];
}

export type EngineSpec = LlamaCppEngine | PythonServerEngine;

/** The macros args, env and script arguments may use; expanded when the engine is spawned. */
export const LAUNCH_MACROS = ['PORT', 'MODEL_NAME', 'MODEL_PATH'] as const;

export interface LaunchProfile {
  name: string;
  requiredDevices: string[];
  /** A .sh/.bat/.cmd script, as written (relative to the config file). */
  scriptPath: string | null;
  /** Alternative to scriptPath: an executable and its arguments. */
  command: string | null;
  args: string[];
  cwd: string | null;
  env: Record<string, string>;
  memoryMb: Record<string, number>;
  /**
   * An engine profile (`engine: llama.cpp | vllm | sglang`): the typed fields it is rendered from.
   * Loaded configs carry the rendered command + args too (core/engines); absent for script/command profiles.
   */
  engine?: EngineSpec;
  /** The profile's `model` (engine profiles: the engine's model): what ${MODEL_PATH} expands to. */
  modelPath?: string;
  /**
   * A server this node does not spawn (`upstream:`, `engine: ollama`, or a peer's model): requests
   * are proxied to it and the model's state is its reachability. Such a profile launches nothing.
   */
  upstream?: UpstreamSpec;
}

/** Where an upstream profile's requests go. */
export interface UpstreamSpec {
  /** openai: an OpenAI-compatible server; ollama: an Ollama server (its /v1 and /api); peer: another LLM Manager node. */
  kind: 'openai' | 'ollama' | 'peer';
  /** Without a trailing slash: an OpenAI base URL ("https://host/v1"), or Ollama's / a peer's root ("http://127.0.0.1:11434"). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …`; never logged or shown. */
  apiKey: string | null;
  /** The upstream's name for the model (the request's "model" is rewritten to it); null: as sent. */
  model: string | null;
  /** kind peer: the peer's name (peers:). */
  peer?: string;
  /** Ollama: how long a start keeps the model loaded (Ollama's keep_alive: seconds, or a duration like "30m"; negative = until unloaded); null: until stopped here. */
  keepAlive?: string | number | null;
}

/** Another LLM Manager node whose models this one serves too (`peers:`). */
export interface PeerConfig {
  /** Shown with its models (`peer:<name>`); default: the URL's host:port. */
  name: string;
  /** Its root URL, without a trailing slash: "http://192.168.1.20:8080". */
  url: string;
  apiKey: string | null;
  /** Whose model answers when the peer has one of the same name as a local model; default local. */
  prefer: 'local' | 'peer';
}

export interface ModelConfig {
  name: string;
  aliases: string[];
  mode: ModelMode;
  /** null: a free port from program.engine_ports is given at each start. */
  port: number | null;
  autoStart: boolean;
  aliveTimeMs: number;
  healthPath: string;
  /**
   * The name the engine serves the model under (vLLM's --served-model-name): requests reach it with
   * "model" rewritten to this, whatever name or alias they used. null: passed as sent.
   */
  servedModelName: string | null;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  /**
   * At most this many connections to the engine at once (requests beyond wait in the router, in
   * arrival order). null: derived from the launch (llama-server: its --parallel + 1), else 1024.
   */
  maxConnections: number | null;
  /** In priority order, as in the file. */
  profiles: LaunchProfile[];
  /** keep: never stopped to make room for another model, never stopped for idleness. Absent: false. */
  keep?: boolean;
  /**
   * resident: started when the node starts, and again once the devices it needs are free after it
   * was stopped to make room or held off (not after a person stopped it); never stopped for idleness.
   */
  resident?: boolean;
  /** Eviction order: lower goes first, higher stays longer (default 0). */
  priority?: number;
  /** Models of one group never run together: starting one stops the others (never cutting a request). */
  exclusiveGroup?: string;
  /** Streaming requests that wait for this model's start get `: loading …` SSE comments (program.loading_stream or the model's own). */
  loadingStream?: boolean;
  /** Prices for the usage page's costs; absent or null: none. */
  pricing?: ModelPricing | null;
  /** A model of another LLM Manager node (peers:), by that peer's name; never written in a config file. */
  peer?: string;
}

export interface AppConfig {
  program: ProgramConfig;
  models: ModelConfig[];
  /** Other LLM Manager nodes (`peers:`); absent when none. */
  peers?: PeerConfig[];
}

export interface ConfigIssue {
  severity: 'error' | 'warning';
  /** Dotted key path, e.g. `Local-Models.Qwen-14B-Chat.port`; empty for the document. */
  path: string;
  message: string;
  line: number;
  col: number;
  /** Offsets into the text, for editors that underline the range. */
  from: number;
  to: number;
  /**
   * Set when the text was refused before it was read as a config: too large, nested too deep, an
   * alias bomb, or too slow to parse. Such a text is hostile or broken, never a config to fix a key of.
   */
  limit?: ConfigLimit;
}

export type ConfigLimit = 'size' | 'depth' | 'aliases' | 'time';

/** A real config.yaml is a few KB; anything this large is refused before YAML parsing starts. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** Levels of nesting (indentation, `- - -`, flow `[`/`{`); a real config needs fewer than 10. */
export const MAX_CONFIG_DEPTH = 64;
/** How often `*alias` may repeat its anchor's content (the yaml library's maxAliasCount). */
const MAX_ALIAS_COUNT = 100;

/** Where a key or value of the config is in the text. */
export interface ConfigSpan {
  /** The path as written (a profile's script may be under its older name, bat_path). */
  path: string;
  line: number;
  col: number;
  from: number;
  to: number;
}

/**
 * Where each launch profile is, and its script_path, command, cwd, required_devices[i] and
 * memory_mb keys, by spanKey(path): for the checks the node makes after parsing (files, devices),
 * so their issues point at the same line:col as the parser's own.
 */
export type ConfigSpans = Readonly<Record<string, ConfigSpan>>;

export type ConfigParseResult =
  | { ok: true; config: AppConfig; warnings: ConfigIssue[]; spans: ConfigSpans }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** The key of a path in ConfigSpans: `Local-Models.demo.CPU-Config.required_devices[0]`. */
export function spanKey(path: readonly (string | number)[]): string {
  return formatPath(path);
}

/**
 * An issue at `path`, located through `spans`: at the path itself, else at the nearest enclosing
 * path that has a span (a profile's key), else at the start of the text.
 */
export function issueAt(spans: ConfigSpans, path: readonly (string | number)[], severity: ConfigIssue['severity'], message: string): ConfigIssue {
  for (let n = path.length; n > 0; n--) {
    const span = spans[spanKey(path.slice(0, n))];
    if (span) return { severity, path: n === path.length ? span.path : formatPath(path), message, line: span.line, col: span.col, from: span.from, to: span.to };
  }
  return { severity, path: formatPath(path), message, line: 1, col: 1, from: 0, to: 0 };
}

/** `config.yaml:12:11 Local-Models.X.port: expected ...` */
export function formatIssue(fileName: string, issue: ConfigIssue): string {
  const where = issue.path ? ` ${issue.path}:` : '';
  return `${fileName}:${issue.line}:${issue.col}${where} ${issue.message}`;
}

// ---- schemas ---------------------------------------------------------------------------------

const got = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a mapping';
  return JSON.stringify(value);
};

const portSchema = z.int({ error: 'expected an integer 1-65535' }).min(1, 'expected an integer 1-65535').max(65535, 'expected an integer 1-65535');
const nameList = z.array(z.string({ error: 'expected a string' }).trim().min(1, 'expected a non-empty string'), {
  error: 'expected a list of strings',
});
const durationField = (unit: 'ms' | 's' | 'm' | 'h', hint: string) =>
  z.union([z.number(), z.string()], { error: `expected a duration (${hint})` }).transform((value, ctx) => {
    const ms = parseDuration(value, unit);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `expected a duration (${hint})` });
      return z.NEVER;
    }
    return ms;
  });
const minutesField = durationField('m', 'minutes, or a string like "90s" / "15m"');
const secondsField = durationField('s', 'seconds, or a string like "500ms" / "2m"');
const envValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' })
  .transform(String);

const PORT_RANGE_HINT = 'expected a port range like "20000-20999"';
/** A program: a path or a name looked up in PATH, or a list of words (the program and what comes before the engine's arguments). */
const engineBinary = z
  .union([z.string().trim().min(1), z.array(z.string().trim().min(1)).min(1)], { error: 'expected a program (a path or a name in PATH) or a list of words like ["python3", "-m", "sglang.launch_server"]' })
  .transform((value) => (typeof value === 'string' ? [value] : value));

const KEY_HINT = 'expected a non-empty key of printable characters without spaces';
const KEY_NAME_HINT = 'expected a name of 1-64 printable characters, e.g. "laptop"';
/** An api_keys entry: a bare key, or `{name, key}`. Issues never quote the key itself (the editor shows them). */
const apiKeyEntry = z.unknown().transform((value, ctx): { name: string | null; key: string } => {
  const bad = (message: string, path: (string | number)[] = []) => {
    ctx.addIssue({ code: 'custom', message, path, params: { bare: true } });
    return z.NEVER;
  };
  if (typeof value === 'string') {
    const key = value.trim();
    return /^[\x21-\x7e]+$/.test(key) ? { name: null, key } : bad(KEY_HINT);
  }
  if (!isPlainObject(value)) return bad(`expected a key (a string) or a mapping {name, key}, got ${got(value)}`);
  const unknown = Object.keys(value).find((k) => k !== 'name' && k !== 'key');
  if (unknown !== undefined) return bad(`unknown field "${unknown}": a named key has only name and key`, [unknown]);
  const name = value['name'];
  if (typeof name !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(name.trim()) || name.trim() === '') return bad(KEY_NAME_HINT, ['name']);
  const key = value['key'];
  if (typeof key !== 'string' || !/^[\x21-\x7e]+$/.test(key.trim())) return bad(key === undefined ? `is required (${KEY_HINT})` : KEY_HINT, ['key']);
  return { name: name.trim(), key: key.trim() };
});

const USAGE_HINT = 'expected off, or a mapping with keep_days, max_mb and/or currency';
const usageSchema = z
  .union([z.boolean(), z.string(), z.record(z.string(), z.unknown())], { error: USAGE_HINT })
  .transform((value, ctx): UsageSettings | null => {
    if (value === false || (typeof value === 'string' && ['off', 'false', 'no'].includes(value.trim().toLowerCase()))) return null;
    if (value === true || (typeof value === 'string' && ['on', 'true', 'yes'].includes(value.trim().toLowerCase()))) return DEFAULT_USAGE;
    if (typeof value !== 'object') {
      ctx.addIssue({ code: 'custom', message: USAGE_HINT });
      return z.NEVER;
    }
    const parsed = usageFieldsSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') for (const key of issue.keys) ctx.addIssue({ code: 'custom', message: unknownKey(key, USAGE_KEYS).replace(' is ignored', ''), path: [key], params: { bare: true } });
        else ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
      }
      return z.NEVER;
    }
    return { keepDays: parsed.data.keep_days, maxMb: parsed.data.max_mb, currency: parsed.data.currency };
  });
const usageFieldsSchema = z.strictObject({
  keep_days: z.number({ error: 'expected a number of days above 0' }).positive('expected a number of days above 0').default(DEFAULT_USAGE.keepDays),
  max_mb: z.number({ error: 'expected a number of megabytes ≥ 1' }).min(1, 'expected a number of megabytes ≥ 1').default(DEFAULT_USAGE.maxMb),
  currency: z.string({ error: 'expected a currency label such as "USD" or "€"' }).trim().min(1, 'expected a currency label such as "USD" or "€"').max(12, 'expected a currency label of at most 12 characters').default(DEFAULT_USAGE.currency),
}, { error: USAGE_HINT });
const USAGE_KEYS = new Set(['keep_days', 'max_mb', 'currency']);

const PRICE_HINT = 'expected a price ≥ 0 (per million tokens)';
const priceTierSchema = z.strictObject({
  up_to_tokens: z.int({ error: 'expected a whole number of tokens above 0' }).positive('expected a whole number of tokens above 0').optional(),
  input_per_1m: z.number({ error: PRICE_HINT }).nonnegative(PRICE_HINT).default(0),
  output_per_1m: z.number({ error: PRICE_HINT }).nonnegative(PRICE_HINT).default(0),
}, { error: 'expected a mapping with up_to_tokens, input_per_1m and output_per_1m' });
const pricingSchema = z
  .strictObject({
    tiers: z.array(priceTierSchema, { error: 'expected a list of tiers like {up_to_tokens: 1000000, input_per_1m: 0.5, output_per_1m: 1.5}' }).min(1, 'expected at least one tier').optional(),
    input_per_1m: z.number({ error: PRICE_HINT }).nonnegative(PRICE_HINT).optional(),
    output_per_1m: z.number({ error: PRICE_HINT }).nonnegative(PRICE_HINT).optional(),
    hourly: z.number({ error: 'expected a price per hour ≥ 0' }).nonnegative('expected a price per hour ≥ 0').optional(),
  }, { error: 'expected a mapping with tiers and/or hourly (or input_per_1m / output_per_1m)' })
  .superRefine((p, ctx) => {
    if (p.tiers && (p.input_per_1m !== undefined || p.output_per_1m !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'set tiers or input_per_1m / output_per_1m (one open-ended tier), not both', path: ['tiers'], params: { bare: true } });
    }
    let previous = 0;
    p.tiers?.forEach((tier, i) => {
      const last = i === p.tiers!.length - 1;
      if (last && tier.up_to_tokens !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'the last tier is open-ended (it prices every token beyond the one before): remove up_to_tokens, or add a tier after it', path: ['tiers', i, 'up_to_tokens'], params: { bare: true } });
      } else if (!last && tier.up_to_tokens === undefined) {
        ctx.addIssue({ code: 'custom', message: 'every tier but the last needs up_to_tokens (the cumulative tokens of the month it applies up to)', path: ['tiers', i], params: { bare: true } });
      } else if (!last && tier.up_to_tokens! <= previous) {
        ctx.addIssue({ code: 'custom', message: `expected more than the tier before (${previous})`, path: ['tiers', i, 'up_to_tokens'] });
      }
      if (tier.up_to_tokens !== undefined) previous = tier.up_to_tokens;
    });
  })
  .transform((p): ModelPricing => ({
    tiers: p.tiers
      ? p.tiers.map((t, i) => ({ upToTokens: i === p.tiers!.length - 1 ? null : t.up_to_tokens!, inputPer1m: t.input_per_1m, outputPer1m: t.output_per_1m }))
      : p.input_per_1m !== undefined || p.output_per_1m !== undefined
        ? [{ upToTokens: null, inputPer1m: p.input_per_1m ?? 0, outputPer1m: p.output_per_1m ?? 0 }]
        : [],
    hourly: p.hourly ?? null,
  }));

const programSchema = z.object({
  host: z.string({ error: 'expected a host name or address' }).trim().min(1, 'expected a host name or address').default('127.0.0.1'),
  port: portSchema.default(8080),
  log_level: z
    .string({ error: 'expected one of DEBUG, INFO, WARNING, ERROR' })
    .transform((value, ctx): LogLevel => {
      const level = LOG_LEVELS[value.trim().toUpperCase()];
      if (!level) {
        ctx.addIssue({ code: 'custom', message: 'expected one of DEBUG, INFO, WARNING, ERROR' });
        return z.NEVER;
      }
      return level;
    })
    .default('info'),
  alive_time: minutesField.default(15 * 60_000),
  Disable_GPU_monitoring: z.boolean({ error: 'expected true or false' }).default(false),
  device_plugin_dir: z.string({ error: 'expected a folder path' }).nullable().default(null),
  memory_headroom_mb: z.number({ error: 'expected a number of megabytes' }).nonnegative('expected a number of megabytes ≥ 0').default(512),
  log_dir: z.string({ error: 'expected a folder path' }).trim().min(1, 'expected a folder path').default('logs'),
  body_limit_mb: z.number({ error: 'expected a number of megabytes' }).positive('expected a positive number of megabytes').default(50),
  api_keys: z.array(apiKeyEntry, { error: 'expected a list of keys' }).default([]),
  cors_origins: z
    .array(
      z
        .string({ error: 'expected a string' })
        .trim()
        .toLowerCase()
        .regex(/^(\*|null|file:\/\/|[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+)$/, 'expected an origin like "http://localhost:3000" (scheme://host[:port], no path), "null" or "*"'),
      { error: 'expected a list of origins' },
    )
    .default([]),
  allowed_hosts: z
    .array(z.string({ error: 'expected a string' }).trim().toLowerCase().regex(/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/, 'expected a host name without port, e.g. "mybox.lan" (a leading "." allows its subdomains)'), {
      error: 'expected a list of host names',
    })
    .default([]),
  allow_insecure_lan: z.boolean({ error: 'expected true or false' }).default(false),
  engine_keys: z.boolean({ error: 'expected true or false' }).default(false),
  max_queued_requests: z.int({ error: 'expected a whole number ≥ 1' }).min(1, 'expected a whole number ≥ 1').default(1000),
  header_timeout: secondsField.refine((ms) => ms > 0, 'expected a duration above 0').default(30_000),
  request_timeout: secondsField.default(300_000),
  body_timeout: secondsField.default(30_000),
  engine_encoding: z
    .string({ error: 'expected "auto" or an encoding such as "gbk", "shift_jis", "windows-1252" or a code page like "936"' })
    .refine((value) => value.trim().toLowerCase() === 'auto' || encodingName(value) !== null, 'expected "auto" or an encoding such as "gbk", "shift_jis", "windows-1252" or a code page like "936"')
    .optional(),
  engines: z
    .object(
      {
        llama_server: engineBinary.optional(),
        vllm: engineBinary.optional(),
        sglang: engineBinary.optional(),
      },
      { error: 'expected a mapping with llama_server, vllm and/or sglang' },
    )
    .strict()
    .default({}),
  engine_ports: z
    .union([z.string(), z.number()], { error: PORT_RANGE_HINT })
    .transform((value, ctx): PortRange => {
      const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(String(value));
      const from = m ? Number(m[1]) : NaN;
      const to = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || from < 1 || to > 65535 || from > to) {
        ctx.addIssue({ code: 'custom', message: PORT_RANGE_HINT });
        return z.NEVER;
      }
      return { from, to };
    })
    .default(DEFAULT_ENGINE_PORTS),
  models_dirs: z
    .union([z.string().trim().min(1), z.array(z.string({ error: 'expected a folder path' }).trim().min(1, 'expected a folder path'))], { error: 'expected a folder path or a list of folder paths' })
    .transform((value) => (typeof value === 'string' ? [value] : value))
    .default(['models']),
  loading_stream: z.boolean({ error: 'expected true or false' }).default(false),
  usage: usageSchema.default(DEFAULT_USAGE),
  hf_token: z.string({ error: 'expected a Hugging Face access token ("hf_...")' }).trim().regex(/^[\x21-\x7e]+$/, 'expected a Hugging Face access token ("hf_...") without spaces').optional(),
  hf_endpoint: z
    .string({ error: 'expected a URL like "https://huggingface.co"' })
    .trim()
    .regex(/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i, 'expected a URL like "https://huggingface.co"')
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
});
const PROGRAM_KEYS = new Set(Object.keys(programSchema.shape));

const LOG_LEVELS: Record<string, LogLevel> = {
  DEBUG: 'debug', INFO: 'info', WARN: 'warn', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error',
};

const modelFieldsSchema = z.object({
  aliases: nameList.default([]),
  mode: z
    .string({ error: `expected one of ${MODEL_MODES.join(', ')}` })
    .transform((value, ctx): ModelMode => {
      const mode = MODEL_MODES.find((m) => m.toLowerCase() === value.trim().toLowerCase());
      if (!mode) {
        ctx.addIssue({ code: 'custom', message: `expected one of ${MODEL_MODES.join(', ')}` });
        return z.NEVER;
      }
      return mode;
    })
    .default('Chat'),
  port: portSchema.optional(),
  auto_start: z.boolean({ error: 'expected true or false' }).default(false),
  alive_time: minutesField.optional(),
  health_path: z
    .string({ error: 'expected a path starting with "/"' })
    .startsWith('/', 'expected a path starting with "/"')
    .default('/health'),
  served_model_name: z.string({ error: 'expected the model name the engine serves' }).trim().min(1, 'expected the model name the engine serves').max(256, 'expected at most 256 characters').optional(),
  start_timeout: secondsField.default(300_000),
  stop_timeout: secondsField.default(10_000),
  max_connections: z.number({ error: 'expected a whole number 1-1024' }).int('expected a whole number 1-1024').min(1, 'expected a whole number 1-1024').max(1024, 'expected a whole number 1-1024').optional(),
  keep: z.boolean({ error: 'expected true or false' }).default(false),
  resident: z.boolean({ error: 'expected true or false' }).default(false),
  priority: z.number({ error: 'expected a number (higher stays longer when memory is short)' }).finite('expected a number (higher stays longer when memory is short)').optional(),
  exclusive_group: z.string({ error: 'expected a group name, e.g. "big-gpu"' }).trim().min(1, 'expected a group name, e.g. "big-gpu"').max(100, 'expected at most 100 characters').optional(),
  loading_stream: z.boolean({ error: 'expected true or false' }).optional(),
  pricing: pricingSchema.optional(),
});
const MODEL_KEYS = new Set(Object.keys(modelFieldsSchema.shape));

const profileSchema = z
  .object({
    required_devices: nameList.default([]),
    script_path: z.string({ error: 'expected a file path' }).trim().min(1, 'expected a file path').optional(),
    command: z.string({ error: 'expected an executable name or path' }).trim().min(1, 'expected an executable name or path').optional(),
    args: z.array(z.union([z.string(), z.number()]).transform(String), { error: 'expected a list of strings' }).default([]),
    cwd: z.string({ error: 'expected a folder path' }).optional(),
    env: z.record(z.string(), envValue, { error: 'expected a mapping of NAME: value' }).default({}),
    memory_mb: z
      .record(z.string(), z.number({ error: 'expected a number of megabytes' }).nonnegative('expected a number of megabytes ≥ 0'), {
        error: 'expected a mapping of device: megabytes',
      })
      .default({}),
    model: z.string({ error: 'expected a model file or folder path' }).trim().min(1, 'expected a model file or folder path').optional(),
  })
  .superRefine((profile, ctx) => {
    if (profile.script_path && profile.command) {
      ctx.addIssue({ code: 'custom', message: 'set either script_path or command, not both', path: ['command'], params: { bare: true } });
    } else if (!profile.script_path && !profile.command) {
      ctx.addIssue({ code: 'custom', message: `needs engine (${ENGINE_KINDS.join(', ')}), script_path (a .sh/.bat script) or command (+ args) to launch the engine` });
    }
  });
const PROFILE_KEYS = new Set(['required_devices', 'script_path', 'command', 'args', 'cwd', 'env', 'memory_mb', 'model', 'engine', 'upstream']);

// ---- engine profiles (`engine: llama.cpp | vllm | sglang`) ---------------------------------------

const ENGINE_NAMES: Record<string, EngineKind> = {
  'llama.cpp': 'llama.cpp', llamacpp: 'llama.cpp', 'llama-cpp': 'llama.cpp', llama_cpp: 'llama.cpp', 'llama-server': 'llama.cpp',
  vllm: 'vllm', sglang: 'sglang',
};
const ENGINE_HINT = `expected one of ${ENGINE_KINDS.join(', ')}, ollama`;
const wholeNumber = (min: number, what = `a whole number ≥ ${min}`) => z.int({ error: `expected ${what}` }).min(min, `expected ${what}`);
const engineCommon = {
  required_devices: nameList.default([]),
  cwd: z.string({ error: 'expected a folder path' }).optional(),
  env: z.record(z.string(), envValue, { error: 'expected a mapping of NAME: value' }).default({}),
  memory_mb: z
    .record(z.string(), z.number({ error: 'expected a number of megabytes' }).nonnegative('expected a number of megabytes ≥ 0'), { error: 'expected a mapping of device: megabytes' })
    .default({}),
  extra_args: z.array(z.union([z.string(), z.number()]).transform(String), { error: 'expected a list of strings' }).default([]),
};
const llamaCppSchema = z.object({
  ...engineCommon,
  model: z
    .string({ error: 'expected a .gguf file path or "hf:owner/repo[:quant]" / "hf:owner/repo/file.gguf"' })
    .trim()
    .min(1, 'expected a .gguf file path or "hf:owner/repo[:quant]" / "hf:owner/repo/file.gguf"')
    .refine((v) => !/^hf:/i.test(v) || /^hf:[^/\s:]+\/[^/\s:]+(:[^/\s:]+|\/[^\s]+)?$/i.test(v), 'expected "hf:owner/repo", "hf:owner/repo:quant" or "hf:owner/repo/file.gguf"'),
  context: wholeNumber(0, 'a context size in tokens (0 = the model\'s own)').optional(),
  gpu_layers: z
    .union([z.int(), z.string()], { error: 'expected a number of layers, "all" or "auto"' })
    .transform((v, ctx): number | 'all' | 'auto' => {
      if (typeof v === 'number' && v >= 0) return v;
      if (typeof v === 'string' && (v.trim().toLowerCase() === 'all' || v.trim().toLowerCase() === 'auto')) return v.trim().toLowerCase() as 'all' | 'auto';
      ctx.addIssue({ code: 'custom', message: 'expected a number of layers ≥ 0, "all" or "auto"' });
      return z.NEVER;
    })
    .optional(),
  threads: wholeNumber(1).optional(),
  flash_attn: z
    .union([z.boolean(), z.string()], { error: 'expected true, false or "auto"' })
    .transform((v, ctx): 'on' | 'off' | 'auto' => {
      const t = typeof v === 'boolean' ? (v ? 'on' : 'off') : v.trim().toLowerCase();
      if (t === 'on' || t === 'off' || t === 'auto') return t;
      ctx.addIssue({ code: 'custom', message: 'expected true, false or "auto"' });
      return z.NEVER;
    })
    .optional(),
  mmproj: z.string({ error: 'expected a .gguf file path (the vision projector)' }).trim().min(1, 'expected a .gguf file path (the vision projector)').optional(),
  parallel: wholeNumber(1, 'a number of slots ≥ 1').optional(),
});
const pythonServerSchema = z.object({
  ...engineCommon,
  model: z.string({ error: 'expected a model folder or a Hugging Face id like "Qwen/Qwen2.5-7B-Instruct"' }).trim().min(1, 'expected a model folder or a Hugging Face id like "Qwen/Qwen2.5-7B-Instruct"'),
  gpu_memory_utilization: z.number({ error: 'expected a fraction above 0 and at most 1, e.g. 0.9' }).gt(0, 'expected a fraction above 0 and at most 1, e.g. 0.9').max(1, 'expected a fraction above 0 and at most 1, e.g. 0.9').optional(),
  max_model_len: wholeNumber(1, 'a number of tokens ≥ 1').optional(),
  dtype: z.string({ error: 'expected a dtype such as "auto", "float16" or "bfloat16"' }).trim().regex(/^[a-z0-9_]+$/i, 'expected a dtype such as "auto", "float16" or "bfloat16"').optional(),
  tensor_parallel_size: wholeNumber(1, 'a number of GPUs ≥ 1').optional(),
  trust_remote_code: z.boolean({ error: 'expected true or false' }).default(false),
});
const ENGINE_COMMON_KEYS = new Set(['engine', 'model', ...Object.keys(engineCommon)]);
const ENGINE_KEYS: Record<EngineKind, Set<string>> = {
  'llama.cpp': new Set([...ENGINE_COMMON_KEYS, ...Object.keys(llamaCppSchema.shape)]),
  vllm: new Set([...ENGINE_COMMON_KEYS, ...Object.keys(pythonServerSchema.shape)]),
  sglang: new Set([...ENGINE_COMMON_KEYS, ...Object.keys(pythonServerSchema.shape)]),
};
const ENGINE_LABEL: Record<EngineKind, string> = { 'llama.cpp': 'llama.cpp', vllm: 'vLLM', sglang: 'SGLang' };

const MACRO = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Where a profile's args, extra_args or env use ${MODEL_PATH} though the profile names no model. */
function macroIssues(raw: Record<string, unknown>, hasModel: boolean): { path: Path; message: string }[] {
  if (hasModel) return [];
  const out: { path: Path; message: string }[] = [];
  const check = (value: unknown, path: Path) => {
    if (typeof value !== 'string') return;
    for (const m of value.matchAll(MACRO)) {
      if (m[1] === 'MODEL_PATH') out.push({ path, message: '${MODEL_PATH} is used, but this profile has no "model" to expand it to; add model: "path/to/the/model"' });
    }
  };
  for (const key of ['args', 'extra_args'] as const) if (Array.isArray(raw[key])) (raw[key] as unknown[]).forEach((v, i) => check(v, [key, i]));
  if (isPlainObject(raw['env'])) for (const [k, v] of Object.entries(raw['env'])) check(v, ['env', k]);
  return out;
}
const LEGACY_SCRIPT_KEY = 'bat_path';

// ---- upstream profiles (`upstream:`, `engine: ollama`) and peers ---------------------------------

export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';
const urlField = (example: string) =>
  z
    .string({ error: `expected an http(s) URL like "${example}"` })
    .trim()
    .regex(/^https?:\/\/[^/?#\s@]+(\/[^?#\s]*)?$/i, `expected an http(s) URL like "${example}"`)
    .transform((v) => v.replace(/\/+$/, ''));
const REMOTE_KEY_HINT = 'expected the key the server wants (sent as "Authorization: Bearer …"), printable characters without spaces';
/** A key for a server we call: its issues never quote the value (the window and logs show issues). */
const remoteKey = z.unknown().transform((value, ctx): string => {
  if (typeof value === 'string' && /^[\x21-\x7e]+$/.test(value.trim())) return value.trim();
  ctx.addIssue({ code: 'custom', message: REMOTE_KEY_HINT, params: { bare: true } });
  return z.NEVER;
});
const upstreamModelName = z.string({ error: 'expected the model name the server knows it by' }).trim().min(1, 'expected the model name the server knows it by').max(256, 'expected at most 256 characters');
const upstreamSchema = z.object({
  base_url: urlField('https://api.example.com/v1'),
  api_key: remoteKey.optional(),
  model: upstreamModelName.optional(),
});
const UPSTREAM_KEYS = new Set(Object.keys(upstreamSchema.shape));
const KEEP_ALIVE_HINT = 'expected seconds (a negative number keeps it loaded until stopped) or a duration like "30m" / "2h"';
const ollamaSchema = z.object({
  model: z.string({ error: 'expected an Ollama model name like "qwen2.5:7b"' }).trim().min(1, 'expected an Ollama model name like "qwen2.5:7b"'),
  base_url: urlField(DEFAULT_OLLAMA_URL).default(DEFAULT_OLLAMA_URL),
  api_key: remoteKey.optional(),
  keep_alive: z
    .union([z.number(), z.string()], { error: KEEP_ALIVE_HINT })
    .refine((v) => (typeof v === 'number' ? Number.isFinite(v) : /^-?\d+(\.\d+)?(ms|s|m|h)$/.test(v.trim())), KEEP_ALIVE_HINT)
    .transform((v) => (typeof v === 'string' ? v.trim() : v))
    .optional(),
});
const OLLAMA_KEYS = new Set(['engine', ...Object.keys(ollamaSchema.shape)]);
/** Keys that launch an engine: meaningless in a profile that proxies to a server. */
const LAUNCH_KEYS = new Set(['script_path', LEGACY_SCRIPT_KEY, 'command', 'args', 'cwd', 'env', 'extra_args', 'engine', 'model']);

function remoteProfile(name: string, upstream: UpstreamSpec): LaunchProfile {
  return { name, requiredDevices: [], scriptPath: null, command: null, args: [], cwd: null, env: {}, memoryMb: {}, upstream };
}

/** A profile with `upstream: {base_url, api_key?, model?}`: an OpenAI-compatible server this node proxies to. */
function parseUpstreamProfile(name: string, raw: Record<string, unknown>, base: Path, issue: IssueFn, errors: ConfigIssue[], warnings: ConfigIssue[]): LaunchProfile | null {
  let failed = false;
  for (const key of Object.keys(raw)) {
    if (key === 'upstream') continue;
    if (LAUNCH_KEYS.has(key)) {
      errors.push(issue('error', [...base, key], `an upstream profile launches nothing: remove "${key}", or remove "upstream" to launch an engine`, true));
      failed = true;
    } else {
      warnings.push(issue('warning', [...base, key], MODEL_KEYS.has(key) ? `"${key}" is ignored here: it is a setting of the model, not of a launch profile (move it up one level)` : `"${key}" is ignored: an upstream profile has only "upstream"`, true));
    }
  }
  const value = raw['upstream'];
  if (!isPlainObject(value)) {
    errors.push(issue('error', [...base, 'upstream'], `expected a mapping with base_url (and api_key, model), got ${got(value)}`));
    return null;
  }
  for (const key of Object.keys(value)) if (!UPSTREAM_KEYS.has(key)) warnings.push(issue('warning', [...base, 'upstream', key], unknownKey(key, UPSTREAM_KEYS), true));
  const parsed = upstreamSchema.safeParse(value);
  if (!parsed.success) {
    errors.push(...zodIssues(parsed.error, [...base, 'upstream'], value, issue));
    return null;
  }
  if (failed) return null;
  const u = parsed.data;
  return remoteProfile(name, { kind: 'openai', baseUrl: u.base_url, apiKey: u.api_key ?? null, model: u.model ?? null });
}

/** `engine: ollama`: a model of an Ollama server (its OpenAI-compatible /v1; /api to load and unload). */
function parseOllamaProfile(name: string, raw: Record<string, unknown>, base: Path, issue: IssueFn, errors: ConfigIssue[], warnings: ConfigIssue[]): LaunchProfile | null {
  let failed = false;
  for (const key of Object.keys(raw)) {
    if (OLLAMA_KEYS.has(key)) continue;
    if (LAUNCH_KEYS.has(key)) {
      errors.push(issue('error', [...base, key], `Ollama runs its models itself: remove "${key}" (an ollama profile has model, base_url, api_key and keep_alive)`, true));
      failed = true;
    } else {
      warnings.push(issue('warning', [...base, key], MODEL_KEYS.has(key) ? `"${key}" is ignored here: it is a setting of the model, not of a launch profile (move it up one level)` : unknownKey(key, OLLAMA_KEYS), true));
    }
  }
  const { engine: _engine, ...input } = raw;
  const parsed = ollamaSchema.safeParse(input);
  if (!parsed.success) {
    errors.push(...zodIssues(parsed.error, base, raw, issue));
    return null;
  }
  if (failed) return null;
  const o = parsed.data;
  return remoteProfile(name, { kind: 'ollama', baseUrl: o.base_url, apiKey: o.api_key ?? null, model: o.model, keepAlive: o.keep_alive ?? null });
}

const PEER_KEYS = new Set(['name', 'url', 'api_key', 'prefer']);
const peerSchema = z.object({
  name: z.string({ error: 'expected a name like "desktop"' }).trim().regex(/^[\x21-\x7e]{1,64}$/, 'expected a name of 1-64 printable characters without spaces, like "desktop"').optional(),
  url: urlField('http://192.168.1.20:8080'),
  api_key: remoteKey.optional(),
  prefer: z.enum(['local', 'peer'], { error: 'expected "local" (a model of this node wins over the peer\'s of the same name) or "peer"' }).default('local'),
});

/** `peers:` — a list of other LLM Manager nodes. */
function parsePeers(raw: unknown, issue: IssueFn, errors: ConfigIssue[], warnings: ConfigIssue[]): PeerConfig[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) {
    errors.push(issue('error', ['peers'], `expected a list of nodes like - {name: desktop, url: "http://192.168.1.20:8080", api_key: "…"}, got ${got(raw)}`));
    return [];
  }
  const peers: PeerConfig[] = [];
  const names = new Map<string, number>();
  raw.forEach((entry, i) => {
    const base: Path = ['peers', i];
    if (!isPlainObject(entry)) {
      errors.push(issue('error', base, `expected a mapping with url (and name, api_key, prefer), got ${got(entry)}`));
      return;
    }
    for (const key of Object.keys(entry)) if (!PEER_KEYS.has(key)) warnings.push(issue('warning', [...base, key], unknownKey(key, PEER_KEYS), true));
    const parsed = peerSchema.safeParse(entry);
    if (!parsed.success) {
      errors.push(...zodIssues(parsed.error, base, entry, issue));
      return;
    }
    const p = parsed.data;
    const name = p.name ?? p.url.replace(/^https?:\/\//i, '').replace(/\/.*$/, '');
    const first = names.get(name.toLowerCase());
    if (first !== undefined) {
      errors.push(issue('error', [...base, p.name !== undefined ? 'name' : 'url'], `the peer name "${name}" is already used by peers[${first}]; give one a name`));
      return;
    }
    names.set(name.toLowerCase(), i);
    peers.push({ name, url: p.url, apiKey: p.api_key ?? null, prefer: p.prefer });
  });
  return peers;
}

// ---- parser ----------------------------------------------------------------------------------

type Path = (string | number)[];

export function parseConfigText(text: string, fileName = 'config.yaml'): ConfigParseResult {
  // Bounded first, in one linear pass: the YAML parser itself is slow on huge or deeply nested input.
  const limit = configLimitIssue(text);
  if (limit) return { ok: false, errors: [limit], warnings: [] };
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below in linear time; the library's own check is quadratic in a mapping's keys.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const locate = (path: Path, keyOnly = false) => locateNode(doc, lineCounter, path, keyOnly);
  const issue = (severity: ConfigIssue['severity'], path: Path, message: string, keyOnly = false): ConfigIssue => ({
    severity,
    path: formatPath(path),
    message,
    ...locate(path, keyOnly),
  });

  errors.push(...yamlSyntaxIssues(doc, text, lineCounter));
  if (errors.length > 0) return { ok: false, errors: sortIssues(errors), warnings };

  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    // "Excessive alias count": anchors repeated through aliases until the data would explode.
    if (!(err instanceof ReferenceError)) throw err;
    const at = firstAliasOffset(doc);
    const pos = lineCounter.linePos(at);
    const message = 'YAML aliases (*name) repeat their anchors (&name) too often: expanding them would make the config enormous (an "alias bomb")';
    return { ok: false, errors: [{ severity: 'error', path: '', message, line: pos.line, col: pos.col, from: at, to: at + 1, limit: 'aliases' }], warnings };
  }
  if (!isPlainObject(root)) {
    errors.push(issue('error', [], `expected a mapping with "program:" and "Local-Models:", got ${got(root)}`));
    return { ok: false, errors, warnings };
  }

  for (const key of Object.keys(root)) {
    if (!ROOT_KEYS.has(key)) {
      const near = closestKey(key, ROOT_KEYS);
      const hint = near ? `did you mean "${near}"?` : 'expected "program" or "Local-Models"';
      warnings.push(issue('warning', [key], near ? `unknown key "${key}" is ignored; ${hint}` : `unknown key "${key}" is ignored (${hint})`, true));
    }
  }

  const rawProgram = root['program'] ?? {};
  let program: ProgramConfig | null = null;
  if (!isPlainObject(rawProgram)) {
    errors.push(issue('error', ['program'], `expected a mapping, got ${got(rawProgram)}`));
  } else {
    for (const key of Object.keys(rawProgram)) {
      if (!PROGRAM_KEYS.has(key)) warnings.push(issue('warning', ['program', key], unknownKey(key, PROGRAM_KEYS), true));
    }
    const parsed = programSchema.safeParse(rawProgram);
    if (parsed.success) {
      const p = parsed.data;
      program = {
        host: p.host,
        port: p.port,
        logLevel: p.log_level,
        aliveTimeMs: p.alive_time,
        disableGpuMonitoring: p.Disable_GPU_monitoring,
        devicePluginDir: p.device_plugin_dir,
        memoryHeadroomMb: p.memory_headroom_mb,
        logDir: p.log_dir,
        bodyLimitBytes: Math.round(p.body_limit_mb * 1024 * 1024),
        apiKeys: p.api_keys.map((entry) => entry.key),
        apiKeyNames: p.api_keys.map((entry, i) => entry.name ?? `key-${i + 1}`),
        usage: p.usage,
        corsOrigins: p.cors_origins,
        allowedHosts: p.allowed_hosts,
        allowInsecureLan: p.allow_insecure_lan,
        engineKeys: p.engine_keys,
        maxQueuedRequests: p.max_queued_requests,
        headerTimeoutMs: p.header_timeout,
        requestTimeoutMs: p.request_timeout,
        bodyTimeoutMs: p.body_timeout,
        engines: { llamaServer: p.engines.llama_server ?? null, vllm: p.engines.vllm ?? null, sglang: p.engines.sglang ?? null },
        enginePorts: p.engine_ports,
        modelsDirs: p.models_dirs,
        ...(p.loading_stream ? { loadingStream: true } : {}),
        ...(p.hf_endpoint !== undefined ? { hfEndpoint: p.hf_endpoint } : {}),
        ...(p.hf_token !== undefined ? { hfToken: p.hf_token } : {}),
        ...(p.engine_encoding !== undefined && p.engine_encoding.trim().toLowerCase() !== 'auto' ? { engineEncoding: encodingName(p.engine_encoding)! } : {}),
      };
      const named = new Map<string, number>();
      p.api_keys.forEach(({ name, key }, i) => {
        if (key.length < 16) warnings.push(issue('warning', ['program', 'api_keys', i, ...(name === null ? [] : ['key'])], `a key of ${key.length} characters is easy to guess; use 16 or more random characters`));
        const keyName = program!.apiKeyNames![i]!;
        const first = named.get(keyName.toLowerCase());
        if (first !== undefined) errors.push(issue('error', ['program', 'api_keys', i, ...(name === null ? [] : ['name'])], `the key name "${keyName}" is already used by key ${first + 1}${name === null ? ' (a bare key is named key-<position>)' : ''}`));
        else named.set(keyName.toLowerCase(), i);
      });
    } else {
      errors.push(...zodIssues(parsed.error, ['program'], rawProgram, issue));
    }
  }

  const rawModels = root['Local-Models'] ?? {};
  const models: ModelConfig[] = [];
  if (!isPlainObject(rawModels)) {
    errors.push(issue('error', ['Local-Models'], `expected a mapping of model names, got ${got(rawModels)}`));
  } else {
    for (const [name, rawModel] of Object.entries(rawModels)) {
      const model = parseModel(name, rawModel, program?.aliveTimeMs ?? 15 * 60_000, issue, errors, warnings, program?.loadingStream ?? false);
      if (model) models.push(model);
    }
  }

  const peers = parsePeers(root['peers'], issue, errors, warnings);
  if (program) checkCrossModel(program, models, issue, errors);
  if (errors.length > 0 || !program) return { ok: false, errors: sortIssues(errors), warnings: sortIssues(warnings) };
  return { ok: true, config: { program, models, ...(peers.length > 0 ? { peers } : {}) }, warnings: sortIssues(warnings), spans: launchSpans(models, rawModels as Record<string, unknown>, locate) };
}

/** The spans of every profile's launch fields (see ConfigSpans). */
function launchSpans(models: ModelConfig[], rawModels: Record<string, unknown>, locate: (path: Path, keyOnly?: boolean) => Omit<ConfigSpan, 'path'>): ConfigSpans {
  const spans: Record<string, ConfigSpan> = {};
  const put = (path: Path, keyOnly = false, key: Path = path) => {
    spans[spanKey(key)] = { path: formatPath(path), ...locate(path, keyOnly) };
  };
  for (const model of models) {
    const rawProfiles = rawModels[model.name] as Record<string, unknown>;
    for (const profile of model.profiles) {
      const base: Path = ['Local-Models', model.name, profile.name];
      const raw = rawProfiles[profile.name] as Record<string, unknown>;
      put(base, true);
      if (profile.scriptPath !== null) put([...base, LEGACY_SCRIPT_KEY in raw ? LEGACY_SCRIPT_KEY : 'script_path'], false, [...base, 'script_path']);
      if (profile.command !== null) put([...base, 'command']);
      if (profile.engine !== undefined) {
        put([...base, 'engine']);
        put([...base, 'model']);
        if (profile.engine.kind === 'llama.cpp' && profile.engine.mmproj !== null) put([...base, 'mmproj']);
      }
      if (profile.cwd !== null) put([...base, 'cwd']);
      profile.requiredDevices.forEach((_device, i) => put([...base, 'required_devices', i]));
      for (const key of Object.keys(profile.memoryMb)) put([...base, 'memory_mb', key], true);
    }
  }
  return spans;
}

type IssueFn = (severity: ConfigIssue['severity'], path: Path, message: string, keyOnly?: boolean) => ConfigIssue;

function parseModel(
  name: string,
  raw: unknown,
  defaultAliveMs: number,
  issue: IssueFn,
  errors: ConfigIssue[],
  warnings: ConfigIssue[],
  programLoadingStream = false,
): ModelConfig | null {
  const base: Path = ['Local-Models', name];
  if (name.trim() === '') {
    errors.push(issue('error', base, 'a model name must not be empty', true));
    return null;
  }
  if (!isPlainObject(raw)) {
    errors.push(issue('error', base, `expected a mapping with aliases, mode, port and launch profiles, got ${got(raw)}`));
    return null;
  }
  const fields: Record<string, unknown> = {};
  const profiles: LaunchProfile[] = [];
  let failed = false;
  for (const [key, value] of Object.entries(raw)) {
    if (MODEL_KEYS.has(key)) {
      fields[key] = value;
    } else if (isPlainObject(value)) {
      const profile = parseProfile(key, value, [...base, key], issue, errors, warnings);
      if (profile) profiles.push(profile);
      else failed = true;
    } else if (PROFILE_KEYS.has(key) || key === LEGACY_SCRIPT_KEY) {
      warnings.push(issue('warning', [...base, key], `"${key}" is ignored here: it belongs inside a launch profile (a mapping such as "Default-Config:" under the model)`, true));
    } else {
      const near = closestKey(key, MODEL_KEYS) ?? closestKey(key, PROFILE_KEYS);
      const message = near === null ? `unknown key "${key}" is ignored (launch profiles are mappings)`
        : MODEL_KEYS.has(near) ? `unknown key "${key}" is ignored; did you mean "${near}"?`
        : `unknown key "${key}" is ignored; did you mean "${near}"? (it belongs inside a launch profile)`;
      warnings.push(issue('warning', [...base, key], message, true));
    }
  }
  const parsed = modelFieldsSchema.safeParse(fields);
  if (!parsed.success) {
    errors.push(...zodIssues(parsed.error, base, fields, issue));
    return null;
  }
  if (profiles.length === 0 && !failed) {
    errors.push(
      issue('error', base, 'no launch profile: add a mapping (e.g. "Default-Config:") with required_devices and script_path or command', true),
    );
    return null;
  }
  if (failed) return null;
  const m = parsed.data;
  return {
    name,
    aliases: m.aliases,
    mode: m.mode,
    port: m.port ?? null,
    autoStart: m.auto_start,
    aliveTimeMs: m.alive_time ?? defaultAliveMs,
    healthPath: m.health_path,
    // Engine profiles pass the model's name as the engine's served name (--alias / --served-model-name).
    servedModelName: m.served_model_name ?? (profiles.some((p) => p.engine !== undefined) ? name : null),
    startTimeoutMs: m.start_timeout,
    stopTimeoutMs: m.stop_timeout,
    maxConnections: m.max_connections ?? null,
    // Set only when on, so a definition without these keys stays the object it always was.
    ...(m.keep ? { keep: true } : {}),
    ...(m.resident ? { resident: true } : {}),
    ...(m.priority !== undefined && m.priority !== 0 ? { priority: m.priority } : {}),
    ...(m.exclusive_group !== undefined ? { exclusiveGroup: m.exclusive_group } : {}),
    ...((m.loading_stream ?? programLoadingStream) ? { loadingStream: true } : {}),
    profiles,
    ...(m.pricing !== undefined ? { pricing: m.pricing } : {}),
  };
}

function parseProfile(
  name: string,
  raw: Record<string, unknown>,
  base: Path,
  issue: IssueFn,
  errors: ConfigIssue[],
  warnings: ConfigIssue[],
): LaunchProfile | null {
  if ('upstream' in raw) return parseUpstreamProfile(name, raw, base, issue, errors, warnings);
  if ('engine' in raw && typeof raw['engine'] === 'string' && raw['engine'].trim().toLowerCase() === 'ollama') return parseOllamaProfile(name, raw, base, issue, errors, warnings);
  if ('engine' in raw) return parseEngineProfile(name, raw, base, issue, errors, warnings);
  for (const key of Object.keys(raw)) {
    if (PROFILE_KEYS.has(key) || key === LEGACY_SCRIPT_KEY) continue;
    const message = MODEL_KEYS.has(key)
      ? `"${key}" is ignored here: it is a setting of the model, not of a launch profile (move it up one level)`
      : unknownKey(key, PROFILE_KEYS);
    warnings.push(issue('warning', [...base, key], message, true));
  }
  // LLM-Manager before 2.1 called script_path "bat_path": such a file still starts its engines.
  const legacy = LEGACY_SCRIPT_KEY in raw;
  if (legacy && 'script_path' in raw) {
    errors.push(issue('error', [...base, LEGACY_SCRIPT_KEY], 'set script_path or bat_path (its older name), not both', true));
    return null;
  }
  let input = raw;
  if (legacy) {
    const { [LEGACY_SCRIPT_KEY]: script, ...rest } = raw;
    input = { ...rest, script_path: script };
    warnings.push(issue('warning', [...base, LEGACY_SCRIPT_KEY], '"bat_path" is the older name of script_path; it works, but rename it to script_path', true));
  }
  const parsed = profileSchema.safeParse(input);
  if (!parsed.success) {
    if (legacy) for (const zi of parsed.error.issues) if (zi.path[0] === 'script_path') zi.path[0] = LEGACY_SCRIPT_KEY;
    errors.push(...zodIssues(parsed.error, base, raw, issue));
    return null;
  }
  const p = parsed.data;
  const macroErrors = macroIssues(raw, p.model !== undefined);
  if (macroErrors.length > 0) {
    for (const m of macroErrors) errors.push(issue('error', [...base, ...m.path], m.message));
    return null;
  }
  // A memory_mb key not in required_devices claims a device of its own: with ["rtx 4060"] and
  // { "4060": 8000 } the profile would need two 4060s. Say so where one key is part of the other.
  const required = p.required_devices.map((d) => d.trim().toLowerCase());
  for (const key of Object.keys(p.memory_mb)) {
    const k = key.trim().toLowerCase();
    if (k === '' || required.includes(k)) continue;
    const near = p.required_devices.find((d, i) => required[i] !== '' && (required[i]!.includes(k) || k.includes(required[i]!)));
    if (near !== undefined) {
      warnings.push(
        issue('warning', [...base, 'memory_mb', key], `"${key}" is not in required_devices, so it claims another device of its own; if it is meant for "${near}", write it the same way`, true),
      );
    }
  }
  return {
    name,
    requiredDevices: p.required_devices,
    scriptPath: p.script_path ?? null,
    command: p.command ?? null,
    args: p.args,
    cwd: p.cwd ?? null,
    env: p.env,
    memoryMb: p.memory_mb,
    ...(p.model !== undefined ? { modelPath: p.model } : {}),
  };
}

/** A profile with `engine:`: typed fields a renderer (core/engines) turns into the command line. */
function parseEngineProfile(
  name: string,
  raw: Record<string, unknown>,
  base: Path,
  issue: IssueFn,
  errors: ConfigIssue[],
  warnings: ConfigIssue[],
): LaunchProfile | null {
  const engineName = raw['engine'];
  const kind = typeof engineName === 'string' ? ENGINE_NAMES[engineName.trim().toLowerCase()] : undefined;
  if (!kind) {
    errors.push(issue('error', [...base, 'engine'], `${ENGINE_HINT}, got ${got(engineName)}`));
    return null;
  }
  const known = ENGINE_KEYS[kind];
  let failed = false;
  for (const key of Object.keys(raw)) {
    if (known.has(key)) continue;
    if (key === 'script_path' || key === 'command' || key === 'args' || key === LEGACY_SCRIPT_KEY) {
      errors.push(issue('error', [...base, key], `an engine profile is launched from its fields: remove "${key}" (put extra engine flags in extra_args), or remove "engine" to launch with ${key === 'args' ? 'command + args' : key}`, true));
      failed = true;
      continue;
    }
    const other = ENGINE_KINDS.find((k) => k !== kind && ENGINE_KEYS[k].has(key));
    const message = MODEL_KEYS.has(key)
      ? `"${key}" is ignored here: it is a setting of the model, not of a launch profile (move it up one level)`
      : other ? `"${key}" is ignored: it is a ${ENGINE_LABEL[other]} setting, not a ${ENGINE_LABEL[kind]} one (put the engine's own flags in extra_args)`
      : unknownKey(key, known);
    warnings.push(issue('warning', [...base, key], message, true));
  }
  if (failed) return null;
  const { engine: _engine, ...input } = raw;
  const schema = kind === 'llama.cpp' ? llamaCppSchema : pythonServerSchema;
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    errors.push(...zodIssues(parsed.error, base, raw, issue));
    return null;
  }
  const macroErrors = macroIssues(raw, true);
  for (const m of macroErrors) errors.push(issue('error', [...base, ...m.path], m.message));
  const common = parsed.data;
  let engine: EngineSpec;
  if (kind === 'llama.cpp') {
    const p = parsed.data as z.infer<typeof llamaCppSchema>;
    engine = {
      kind,
      model: p.model,
      context: p.context ?? null,
      gpuLayers: p.gpu_layers ?? null,
      threads: p.threads ?? null,
      flashAttn: p.flash_attn ?? null,
      mmproj: p.mmproj ?? null,
      parallel: p.parallel ?? null,
      extraArgs: p.extra_args,
    };
  } else {
    const p = parsed.data as z.infer<typeof pythonServerSchema>;
    engine = {
      kind,
      model: p.model,
      gpuMemoryUtilization: p.gpu_memory_utilization ?? null,
      maxModelLen: p.max_model_len ?? null,
      dtype: p.dtype ?? null,
      tensorParallelSize: p.tensor_parallel_size ?? null,
      trustRemoteCode: p.trust_remote_code,
      extraArgs: p.extra_args,
    };
  }
  return {
    name,
    requiredDevices: common.required_devices,
    scriptPath: null,
    command: null,
    args: [],
    cwd: common.cwd ?? null,
    env: common.env,
    memoryMb: common.memory_mb,
    engine,
    modelPath: engine.model,
  };
}

function checkCrossModel(program: ProgramConfig, models: ModelConfig[], issue: IssueFn, errors: ConfigIssue[]): void {
  const names = new Map<string, string>(); // lower-cased name or alias -> owning model
  for (const model of models) {
    // Requests name models case-insensitively, so "Qwen" and "qwen" could not be told apart.
    const owner = names.get(model.name.toLowerCase());
    if (owner) errors.push(issue('error', ['Local-Models', model.name], `model name "${model.name}" differs only in case from model "${owner}"`, true));
    else names.set(model.name.toLowerCase(), model.name);
  }
  const ports = new Map<number, string>();
  for (const model of models) {
    const base: Path = ['Local-Models', model.name];
    model.aliases.forEach((alias, i) => {
      const key = alias.toLowerCase();
      const owner = names.get(key);
      if (owner && owner !== model.name) {
        errors.push(issue('error', [...base, 'aliases', i], `alias "${alias}" is already used by model "${owner}"`));
      } else {
        names.set(key, model.name);
      }
    });
    if (model.port === null) continue;
    if (model.port === program.port) {
      errors.push(issue('error', [...base, 'port'], `port ${model.port} is the router's own port (program.port); pick another`));
    }
    const other = ports.get(model.port);
    if (other) {
      errors.push(issue('error', [...base, 'port'], `port ${model.port} is already used by model "${other}"`));
    } else {
      ports.set(model.port, model.name);
    }
  }
}

const ROOT_KEYS = new Set(['program', 'Local-Models', 'peers']);

/** `unknown key "alive_tme" is ignored; did you mean "alive_time"?` (the hint only when one key is close). */
function unknownKey(key: string, known: ReadonlySet<string>): string {
  const near = closestKey(key, known);
  return near === null ? `unknown key "${key}" is ignored` : `unknown key "${key}" is ignored; did you mean "${near}"?`;
}

/**
 * The known key a mistyped one most likely meant: the nearest by edit distance (a swap of two
 * neighbouring letters counts as one edit; case is ignored), when it is close enough to be a typo:
 * at most 1 edit for keys of up to 4 letters, 2 up to 8, 3 beyond. null when none is, or two are
 * equally near.
 */
export function closestKey(key: string, known: Iterable<string>): string | null {
  const k = key.trim().toLowerCase();
  if (k === '' || k.length > 64) return null;
  const allowed = k.length <= 4 ? 1 : k.length <= 8 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = allowed + 1;
  let tie = false;
  for (const candidate of known) {
    const d = editDistance(k, candidate.toLowerCase(), allowed + 1);
    if (d > allowed) continue;
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) {
      tie = true;
    }
  }
  return tie ? null : best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent swaps); anything ≥ `cap` is returned as `cap`. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin >= cap) return cap;
    prev2 = prev;
    prev = row;
  }
  return Math.min(prev[b.length]!, cap);
}

function zodIssues(error: z.ZodError, base: Path, input: unknown, issue: IssueFn): ConfigIssue[] {
  return error.issues.map((zi) => {
    const path = [...base, ...(zi.path as Path)];
    const value = valueAt(input, zi.path as Path);
    const missing = value === undefined && zi.code === 'invalid_type';
    const bare = zi.code === 'custom' && (zi.path.length === 0 || zi.params?.['bare'] === true || (value !== undefined && typeof value === 'object'));
    const message = missing ? `is required (${zi.message})` : bare ? zi.message : `${zi.message}, got ${got(value)}`;
    return issue('error', path, message);
  });
}

function valueAt(input: unknown, path: Path): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function locateNode(doc: Document, lc: LineCounter, path: Path, keyOnly: boolean): Pick<ConfigIssue, 'line' | 'col' | 'from' | 'to'> {
  // Walk down as far as the document goes; a missing key points at its parent's key.
  let node: unknown = doc.contents;
  let keyNode: YamlNode | null = null;
  let found = true;
  for (const key of path) {
    let next: unknown = undefined;
    if (isMap(node)) {
      const pair = pairsByKey(node).get(String(key));
      if (isPair(pair)) {
        keyNode = pair.key as YamlNode;
        next = pair.value;
      }
    } else if (isCollection(node) && typeof key === 'number') {
      next = node.items[key];
      keyNode = null;
    }
    if (next === undefined || next === null) {
      found = false;
      break;
    }
    node = next;
  }
  const hasRange = (n: unknown): n is YamlNode => !!n && typeof n === 'object' && 'range' in n && Array.isArray((n as YamlNode).range);
  // Scalars are pointed at where the value is; a mapping, a list, an empty value or a missing key at its key.
  const emptyValue = isScalar(node) && node.value === null && node.source === '';
  const preferKey = keyOnly || !found || isCollection(node) || emptyValue;
  const target = (preferKey && keyNode) || (hasRange(node) ? node : keyNode);
  const range = target?.range ?? [0, 0, 0];
  const from = range[0];
  const to = Math.max(range[1], from + 1);
  const pos = lc.linePos(from);
  return { line: pos.line, col: pos.col, from, to };
}

const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

/** A mapping's pairs by key, built once: looking each key up with find() is quadratic for a file of many warnings. */
function pairsByKey(map: YAMLMap): Map<string, Pair> {
  let index = pairIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) {
      if (isPair(item) && isScalar(item.key) && !index.has(String(item.key.value))) index.set(String(item.key.value), item);
    }
    pairIndexes.set(map, index);
  }
  return index;
}

function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${key}` : key), '');
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.from - b.from);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// YAML syntax errors, pointed at the place a person has to fix, not where the parser gave up.
function yamlSyntaxIssues(doc: Document, text: string, lc: LineCounter): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  const push = (from: number, to: number, message: string) => {
    const pos = lc.linePos(from);
    const key = `${pos.line}:${pos.col}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ severity: 'error', path: '', message: `YAML syntax: ${message}`, line: pos.line, col: pos.col, from, to: Math.max(to, from + 1) });
  };
  const errors = [...doc.errors, ...duplicateKeys(doc)];
  const multiline = new Set(errors.filter((e) => e.code === 'MULTILINE_IMPLICIT_KEY').map((e) => e.pos[0]));
  for (const err of errors) {
    const [start = 0, end = start + 1] = err.pos;
    const firstLine = err.message.split('\n')[0] ?? err.message;
    if (err.code === 'MISSING_CHAR' && /quote/i.test(firstLine)) {
      // The parser notices at the end of the text; the quote that needs closing is where the scalar starts.
      const opened = unclosedQuoteStart(doc, start);
      const quote = firstLine.includes("'") ? "'" : '"';
      push(opened ?? start, opened !== null ? opened + 1 : end, `missing closing ${quote} (the string that starts here is never closed)`);
    } else if (err.code === 'MULTILINE_IMPLICIT_KEY') {
      // `key: value` followed by a line indented deeper than its siblings: point at that line.
      const lineStart = lineStartOf(text, lc, end);
      const indent = /^[ ]*/.exec(text.slice(lineStart))?.[0].length ?? 0;
      push(lineStart + indent, end, 'bad indentation: this line is indented deeper than the key above it (keys of one mapping must line up; quote values that contain ": ")');
    } else if (err.code === 'BAD_INDENT' && /same column/.test(firstLine)) {
      // Reported at the start of the line; the key that is out of line is further right.
      const indent = /^[ ]*/.exec(text.slice(start))?.[0].length ?? 0;
      push(start + indent, end + indent, 'bad indentation: keys of one mapping must start at the same column');
    } else if (err.code === 'BLOCK_AS_IMPLICIT_KEY' && multiline.has(start)) {
      continue; // the same mistake as the MULTILINE_IMPLICIT_KEY above, said less clearly
    } else if (err.code === 'DUPLICATE_KEY') {
      const key = /^\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#\n]*?)\s*:/.exec(text.slice(start))?.[1];
      push(start, end, key ? `duplicate key ${key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`} (keys of one mapping must be unique)` : firstLine);
    } else {
      push(start, end, firstLine);
    }
  }
  return out;
}

function unclosedQuoteStart(doc: Document, errorOffset: number): number | null {
  let best: number | null = null;
  visit(doc, {
    Scalar(_key, node) {
      const range = node.range;
      if (!range || (node.type !== 'QUOTE_DOUBLE' && node.type !== 'QUOTE_SINGLE')) return;
      if (range[0] < errorOffset && errorOffset <= range[2] && (best === null || range[0] > best)) best = range[0];
    },
  });
  return best;
}

function lineStartOf(text: string, lc: LineCounter, offset: number): number {
  const { line } = lc.linePos(Math.min(offset, text.length));
  return lc.lineStarts[line - 1] ?? 0;
}

/**
 * The check `uniqueKeys: true` makes, in linear time: one Set per mapping. Keys compare as the
 * library compares them (the scalar's value, so `1` and `"1"` differ); collection and alias keys
 * are never equal to another. Reported like the library reports them, at the later key.
 */
function duplicateKeys(doc: Document): { code: 'DUPLICATE_KEY'; pos: [number, number]; message: string }[] {
  const out: { code: 'DUPLICATE_KEY'; pos: [number, number]; message: string }[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key;
        if (!isScalar(key)) continue;
        const id = `${typeof key.value}:${String(key.value)}`;
        if (!seen.has(id)) {
          seen.add(id);
          continue;
        }
        const [start = 0, end = start + 1] = key.range ?? [];
        out.push({ code: 'DUPLICATE_KEY', pos: [start, end], message: 'Map keys must be unique' });
      }
    },
  });
  return out;
}

function firstAliasOffset(doc: Document): number {
  let at = 0;
  visit(doc, {
    Alias(_key, node) {
      at = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return at;
}

// ---- limits ----------------------------------------------------------------------------------

const ZERO_WIDTH_TOKENS = new Set(['\x02', '\x18', '\x1f']); // the lexer's document, flow-end and scalar markers

/**
 * The size and nesting bounds, checked in one linear pass with the yaml library's own lexer (so a
 * bracket inside a quoted string or a comment is never counted, and one the parser will see always
 * is). Depth counts indentation levels, block indicators on one line (`- - - x`) and open flow
 * collections (`[[[[`). Returns the issue at the place the bound is crossed, or null.
 */
export function configLimitIssue(text: string): ConfigIssue | null {
  const tooBigAt = offsetPastBytes(text, MAX_CONFIG_BYTES);
  if (tooBigAt !== null) {
    const kb = Math.ceil(utf8Length(text) / 1024);
    return limitIssue(text, tooBigAt, 'size', `the config is ${kb} KB; LLM Manager reads at most ${MAX_CONFIG_BYTES / 1024} KB (a real one is a few KB; the limit is crossed here)`);
  }
  const indents: number[] = [];
  let offset = 0;
  let flow = 0;
  let indicators = 0;
  let lineStart = true;
  let indent = 0;
  for (const token of new Lexer().lex(text)) {
    if (ZERO_WIDTH_TOKENS.has(token)) {
      if (token === '\x18') flow = 0; // the lexer gave up on an unclosed flow collection
      continue;
    }
    const at = offset;
    offset += token.length;
    if (lineStart) {
      if (/^ +$/.test(token)) {
        indent = token.length;
        continue;
      }
      if (token.startsWith('#') || token === '\n' || token === '\r\n') {
        indent = 0;
        continue; // a blank or comment-only line says nothing about nesting
      }
      lineStart = false;
      indicators = 0;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
      }
      indent = 0;
    }
    if (token === '[' || token === '{') flow += 1;
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    else if ((token === '-' || token === '?') && flow === 0) indicators += 1;
    if (token.endsWith('\n')) lineStart = true;
    const depth = Math.max(0, indents.length - 1) + indicators + flow;
    if (depth > MAX_CONFIG_DEPTH) {
      return limitIssue(text, at, 'depth', `nested more than ${MAX_CONFIG_DEPTH} levels deep (indentation, "- - -" or [ / { brackets); a real config needs fewer than 10`);
    }
  }
  return null;
}

function limitIssue(text: string, at: number, limit: ConfigLimit, message: string): ConfigIssue {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { severity: 'error', path: '', message, line, col: at - lineStart + 1, from: at, to: Math.min(text.length, at + 1), limit };
}

/** The offset of the first character that ends beyond `max` UTF-8 bytes, or null when the text fits. */
function offsetPastBytes(text: string, max: number): number | null {
  if (text.length * 3 <= max) return null; // no UTF-16 unit takes more than 3 bytes
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    bytes += utf8Units(text.charCodeAt(i));
    if (bytes > max) return i;
  }
  return null;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) bytes += utf8Units(text.charCodeAt(i));
  return bytes;
}

/** Bytes one UTF-16 unit takes in UTF-8 (a surrogate pair's two units take 4 together). */
function utf8Units(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800 || (code >= 0xd800 && code < 0xe000)) return 2;
  return 3;
}
