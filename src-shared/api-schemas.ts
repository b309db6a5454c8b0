// zod schemas of what the HTTP API takes and answers: /api (the ManagerApi, one entry per route of
// `managerRoutes`), /v1 and /health. The routes validate their input with them, the OpenAPI
// document (GET /api/openapi.json) is generated from them, and the tests check every answer
// against them, so the three can't drift apart. Result schemas are strict: a field the API adds
// without adding it here fails the route test.
import { z } from 'zod';
import type { ManagerApi, ManagerCallName } from './contract.js';
import { managerRoutes, MAX_LOG_TAIL } from './contract.js';
import { ENGINE_KINDS, MODEL_MODES } from './config.js';
import { requestedModelSchema } from './proxied-request.js';
export { MAX_MODEL_NAME } from './proxied-request.js';

const isoTime = z.string().describe('ISO 8601 time');

const components = new Map<string, z.ZodType>();
/** A named schema: the OpenAPI document lists it under components.schemas and refers to it by name. */
function component<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  const named = description === undefined ? schema : schema.describe(description);
  components.set(id, named);
  return named;
}

/** The named schemas, by name. */
export function apiComponents(): ReadonlyMap<string, z.ZodType> {
  return components;
}

// ---- errors ----------------------------------------------------------------------------------

export const errorBodySchema = component(
  'Error',
  z.strictObject({
    error: z.strictObject({
      message: z.string(),
      type: z.enum(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'rate_limit_error', 'server_error', 'service_unavailable', 'upstream_error']),
      code: z.string(),
      param: z.string().nullable().optional(),
    }),
  }),
  'Every error, OpenAI-shaped.',
);

// ---- models ----------------------------------------------------------------------------------

export const modelStateSchema = component('ModelState', z.enum(['stopped', 'starting', 'ready', 'stopping', 'failed']));

export const modelErrorSchema = component('ModelError', z.strictObject({
  message: z.string(),
  exitCode: z.int().nullable().describe('exit code of the engine process, when it exited'),
  signal: z.string().nullable(),
  logTail: z.array(z.string()).describe('the last log lines before the failure'),
  at: isoTime,
}));

export const modelInfoSchema = component('ModelInfo', z.strictObject({
  name: z.string(),
  aliases: z.array(z.string()),
  mode: z.enum(MODEL_MODES),
  port: z.int().nullable().describe('the port the engine listens on: the configured one, or the one given for this run (null: given at start)'),
  launch: z.string().nullable().optional().describe('the command line of the current (or last) start, macros expanded'),
  state: modelStateSchema,
  autoStart: z.boolean(),
  pid: z.int().nullable(),
  profile: z.string().nullable().describe('the launch profile in use (or last used)'),
  skippedProfiles: z.array(z.strictObject({ profile: z.string(), reason: z.string() })).describe('profiles passed over at the last start, and why'),
  startedAt: isoTime.nullable(),
  readyAt: isoTime.nullable(),
  lastUsed: isoTime.nullable(),
  inFlight: z.int(),
  idleStopAt: isoTime.nullable().describe('when the idle timer will stop the engine; null when it will not'),
  aliveTimeMs: z.number(),
  lastError: modelErrorSchema.nullable(),
  vramMb: z.number().nullable().describe('GPU memory held by the engine (MB), when GPUs report it per process'),
  declaredMemoryMb: z.record(z.string(), z.number()).nullable().optional().describe("what the running profile declared in memory_mb, per device id it was placed on"),
  loading: z
    .strictObject({
      fraction: z.number().min(0).max(1).nullable().describe('0..1, or null when nothing tells'),
      stage: z.string().nullable().describe('what the engine says it is doing ("loading weights")'),
      source: z.enum(['engine', 'estimate']).nullable().describe("engine: from its log; estimate: elapsed against the last start's time; null: neither"),
      elapsedMs: z.number(),
      expectedMs: z.number().nullable().describe('how long the last successful start took'),
    })
    .nullable()
    .optional()
    .describe("how far the start has come while state is starting; null otherwise"),
  keep: z.boolean().optional().describe('never stopped to make room or for idleness'),
  resident: z.boolean().optional().describe('started with the node, and again once its devices are free after it was stopped to make room'),
  exclusiveGroup: z.string().nullable().optional().describe('models of this group never run together'),
  upstream: z
    .strictObject({ kind: z.enum(['openai', 'ollama', 'peer']), url: z.string(), peer: z.string().optional() })
    .nullable()
    .optional()
    .describe('a server this node proxies the model to instead of spawning an engine: an OpenAI-compatible one, an Ollama, or another LLM Manager node (peer: its name); never its key'),
}));

export const logLineSchema = component('LogLine', z.strictObject({
  seq: z.int().describe('increases by one per line of a model'),
  ts: z.number().describe('epoch milliseconds'),
  stream: z.enum(['stdout', 'stderr', 'system']),
  text: z.string(),
}));

export const logLocationSchema = component('LogLocation', z.strictObject({ path: z.string(), opened: z.boolean().describe("false where the node can't open folders for the caller (headless, a browser)") }));

// ---- health ----------------------------------------------------------------------------------

export const healthInfoSchema = component('HealthInfo', z.strictObject({
  status: z.literal('ok'),
  version: z.string(),
  uptimeS: z.number(),
  endpoint: z.string(),
  configPath: z.string(),
  models: z.strictObject({ total: z.int(), running: z.int(), starting: z.int(), failed: z.int() }),
  heldSince: isoTime.nullable().describe('since when models are held off; null when they are not'),
}), 'The management view of the node (behind the API key).');

/**
 * GET /health: for probes (a container's HEALTHCHECK, a load balancer), answered without an API
 * key, so it says only what any caller may know: no config path, model names or endpoint.
 */
export const nodeHealthSchema = component('NodeHealth', z.strictObject({
  status: z.enum(['ok', 'degraded', 'stopping']).describe('ok and degraded answer 200 (degraded: the config file on disk is invalid; the last good config runs); stopping answers 503'),
  version: z.string(),
  uptimeS: z.number(),
  models: z.strictObject({ ready: z.int(), total: z.int() }),
}));
export type NodeHealth = z.infer<typeof nodeHealthSchema>;

// ---- devices ---------------------------------------------------------------------------------

const deviceMemorySchema = z.strictObject({ totalMb: z.number(), usedMb: z.number(), freeMb: z.number() });

export const deviceReadingSchema = component('DeviceReading', z.strictObject({
  id: z.string().describe('"gpu0", "cpu", "ram", "plugin:<name>:<n>"'),
  kind: z.enum(['gpu', 'cpu', 'ram']),
  vendor: z.string(),
  index: z.int().nullable(),
  uuid: z.string().nullable().optional(),
  name: z.string(),
  online: z.boolean(),
  offlineReason: z.string().nullable(),
  memory: deviceMemorySchema.nullable(),
  utilizationPct: z.number().nullable(),
  temperatureC: z.number().nullable(),
  powerW: z.number().nullable(),
  holders: z.array(z.strictObject({ model: z.string().nullable(), pid: z.int(), usedMb: z.number().nullable() })),
}));

export const devicesSnapshotSchema = component('DevicesSnapshot', z.strictObject({ at: isoTime, monitoringDisabled: z.boolean(), devices: z.array(deviceReadingSchema) }));

export const devicesHistorySchema = component('DevicesHistory', z.strictObject({
  at: z.array(z.number()).describe('epoch ms of each reading, oldest first'),
  devices: z.array(z.strictObject({ id: z.string(), memUsedMb: z.array(z.number().nullable()), utilPct: z.array(z.number().nullable()) })),
}));

// ---- config ----------------------------------------------------------------------------------

export const configIssueSchema = component('ConfigIssue', z.strictObject({
  severity: z.enum(['error', 'warning']),
  path: z.string().describe('dotted key path, e.g. Local-Models.qwen.port'),
  message: z.string(),
  line: z.int(),
  col: z.int(),
  from: z.int(),
  to: z.int(),
  limit: z.enum(['size', 'depth', 'aliases', 'time']).optional(),
}));

export const configDocumentSchema = component('ConfigDocument', z.strictObject({ path: z.string(), text: z.string(), issues: z.array(configIssueSchema) }));

export const saveConfigBodySchema = component('SaveConfigRequest', z.strictObject({
  text: z.string({ error: 'send the config as {"text": "..."}' }),
  confirm_remove_all: z.boolean({ error: 'confirm_remove_all must be true or false' }).optional().describe('save even though the text removes every model'),
}));

export const configSaveResultSchema = component('ConfigSaveResult', z.strictObject({
  ok: z.boolean(),
  issues: z.array(configIssueSchema),
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()),
  message: z.string(),
  needsConfirmation: z.strictObject({ removeAll: z.array(z.string()) }).optional(),
}));

export const checkConfigBodySchema = component('CheckConfigRequest', z
  .strictObject({ text: z.string({ error: 'send the config as {"text": "..."}' }) }));

export const configCheckResultSchema = component('ConfigCheckResult', z
  .strictObject({
    ok: z.boolean().describe('false: the text has errors, and a save would be refused'),
    issues: z.array(configIssueSchema).describe("the parser's errors and warnings, and the node's own warnings (scripts, commands, cwd, devices)"),
  }));

export const configBackupSchema = component('ConfigBackup', z.strictObject({ id: z.string(), savedAt: isoTime, sizeBytes: z.int(), models: z.int().nullable() }));

export const configBackupTextSchema = component('ConfigBackupText', z.strictObject({ id: z.string(), savedAt: isoTime, text: z.string() }));

// ---- library ---------------------------------------------------------------------------------

export const librarySourceSchema = z.enum(['models_dir', 'lmstudio', 'huggingface']);

export const libraryEntrySchema = component('LibraryEntry', z.strictObject({
  path: z.string().describe("the file to load (a split model's first part)"),
  name: z.string().describe('its path under the folder it was found in; in the Hugging Face cache owner/repo/file.gguf'),
  source: librarySourceSchema,
  sizeBytes: z.number().describe('all parts of a split model together'),
  modifiedAt: isoTime,
  architecture: z.string().nullable(),
  modelName: z.string().nullable().describe('general.name'),
  parameters: z.number().nullable(),
  parametersSource: z.enum(['metadata', 'tensors', 'size_label', 'estimate']).nullable().describe('where the parameter count comes from (estimate: the file size and quantisation)'),
  quantization: z.string().nullable(),
  quantizationSource: z.enum(['header', 'file_name']).nullable(),
  contextLength: z.int().nullable().describe('the context length it was trained for'),
  kind: z.enum(['chat', 'embedding', 'reranker', 'mmproj']).describe('mmproj: a vision projector with no model beside it'),
  mmproj: z.array(z.string()).optional().describe('projector files in the same folder, the likeliest first'),
  splitParts: z.array(z.string()).optional().describe("a split model's parts, in order"),
  usedBy: z.array(z.string()).describe('models in config.yaml whose launch profile names this file'),
  error: z.string().optional().describe("why the file couldn't be read"),
}));

export const libraryListingSchema = component('LibraryListing', z.strictObject({
  scannedAt: isoTime,
  durationMs: z.number(),
  roots: z.array(z.strictObject({ path: z.string(), source: librarySourceSchema, present: z.boolean(), error: z.string().nullable() })),
  entries: z.array(libraryEntrySchema),
}));

// ---- downloads ---------------------------------------------------------------------------------

const HF_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const downloadRequestSchema = component('DownloadRequest', z
  .strictObject({
    repo: z.string({ error: 'expected a Hugging Face repo like "Qwen/Qwen2.5-0.5B-Instruct-GGUF"' }).trim().regex(HF_REPO, 'expected a Hugging Face repo like "Qwen/Qwen2.5-0.5B-Instruct-GGUF"').optional(),
    file: z.string({ error: 'expected the file\'s path in the repo, e.g. "qwen2.5-0.5b-instruct-q4_k_m.gguf"' }).trim().min(1, 'expected the file\'s path in the repo, e.g. "qwen2.5-0.5b-instruct-q4_k_m.gguf"').max(1024).optional(),
    revision: z.string({ error: 'expected a branch, tag or commit' }).trim().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/, 'expected a branch, tag or commit').optional(),
    url: z.string({ error: 'expected an http(s) URL' }).trim().regex(/^https?:\/\/\S+$/i, 'expected an http(s) URL').max(4096).optional(),
  })
  .refine((r) => (r.url !== undefined) !== (r.repo !== undefined || r.file !== undefined), 'send a Hugging Face "repo" and "file", or a "url"')
  .refine((r) => r.url !== undefined || (r.repo !== undefined && r.file !== undefined), 'send both "repo" and "file"')
  .refine((r) => r.url === undefined || r.revision === undefined, '"revision" goes with "repo" and "file", not with "url"'), 'A Hugging Face repo + file, or a URL.');

export const downloadInfoSchema = component('DownloadInfo', z.strictObject({
  id: z.string(),
  source: z.string().describe('"owner/repo/file" or the URL'),
  repo: z.string().nullable(),
  file: z.string().nullable(),
  path: z.string().describe('where the file goes (written as <path>.part until complete and verified)'),
  state: z.enum(['downloading', 'verifying', 'done', 'failed', 'cancelled']),
  bytes: z.number().describe('bytes on disk so far'),
  totalBytes: z.number().nullable(),
  speedBps: z.number().nullable().describe('bytes per second over the last few seconds'),
  etaS: z.number().nullable().describe('seconds left at that speed'),
  resumedFrom: z.number().describe('bytes an earlier .part held when this download began'),
  sha256: z.string().nullable().describe('the SHA-256 the hub publishes for the file, when it does'),
  verified: z.enum(['sha256', 'size']).nullable(),
  error: z.string().nullable(),
  startedAt: isoTime,
  finishedAt: isoTime.nullable(),
}));

/** A download's id in a path. */
export const downloadIdParamSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a download id').describe('a download id, as GET /api/library/downloads lists them');

// ---- deploy --------------------------------------------------------------------------------------

const deployFields = {
  name: z.string({ error: 'expected a model name' }).trim().min(1, 'expected a model name').max(128, 'expected a model name of at most 128 characters').regex(/^[^\u0000-\u001f\u007f/]+$/, 'a model name must not contain "/" or control characters'),
  engine: z.string({ error: `expected one of ${ENGINE_KINDS.join(', ')}, ollama` }).describe(`${ENGINE_KINDS.join(', ')}, ollama`),
  baseUrl: z.string().trim().max(2048).nullable().optional().describe("ollama: the server's address (default http://127.0.0.1:11434)"),
  model: z.string({ error: 'expected a .gguf file, a model folder or a Hugging Face id' }).trim().min(1, 'expected a .gguf file, a model folder or a Hugging Face id').max(4096),
  aliases: z.array(z.string().trim().min(1, 'an alias must not be empty').max(128), { error: 'expected a list of names' }).max(32).optional(),
  mode: z.enum(MODEL_MODES, { error: `expected one of ${MODEL_MODES.join(', ')}` }).optional(),
  devices: z.array(z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/, 'expected a device id like "gpu0"'), { error: 'expected a list of device ids like ["gpu0"]' }).max(16).optional(),
  context: z.int({ error: 'expected a context size in tokens' }).min(0, 'expected a context size in tokens ≥ 0').max(10_000_000).nullable().optional(),
  gpuLayers: z.union([z.int().min(0), z.enum(['all', 'auto'])], { error: 'expected a number of layers, "all" or "auto"' }).nullable().optional(),
  memoryMb: z.number({ error: 'expected megabytes' }).nonnegative('expected megabytes ≥ 0').max(10_000_000).nullable().optional(),
  gpuMemoryUtilization: z.number({ error: 'expected a fraction above 0 and at most 1' }).gt(0, 'expected a fraction above 0 and at most 1').max(1, 'expected a fraction above 0 and at most 1').nullable().optional(),
  port: z.int({ error: 'expected a port 1-65535' }).min(1, 'expected a port 1-65535').max(65535, 'expected a port 1-65535').nullable().optional(),
  autoStart: z.boolean({ error: 'expected true or false' }).optional(),
  extraArgs: z.array(z.string().max(4096), { error: 'expected a list of strings' }).max(64).optional(),
};

export const ollamaListingSchema = component('OllamaListing', z.strictObject({
  baseUrl: z.string(),
  error: z.string().nullable().describe('null: Ollama answered; else why not'),
  models: z.array(z.strictObject({ name: z.string(), sizeBytes: z.number().nullable(), family: z.string().nullable(), parameterSize: z.string().nullable(), quantization: z.string().nullable(), usedBy: z.array(z.string()) })),
}));

export const deploySpecSchema = component('DeploySpec', z.strictObject(deployFields), 'A model entry with one engine profile, as the Deploy form fills it in.');
export const deployRequestSchema = component('DeployRequest', z.strictObject({ ...deployFields, start: z.boolean({ error: 'expected true or false' }).optional().describe('start it once saved, answering when it is ready') }));

export const deployPreviewSchema = component('DeployPreview', z.strictObject({
  name: z.string(),
  command: z.string().describe('the exact command line (the port as ${PORT} when it is given at start)'),
  argv: z.array(z.string()),
  entry: z.string().describe('the YAML the save adds under Local-Models'),
  memoryMb: z.record(z.string(), z.number()).describe('memory the entry declares per device (MB)'),
  estimate: z.strictObject({ weightsMb: z.number(), contextMb: z.number(), totalMb: z.number() }).nullable(),
  ok: z.boolean().describe('false: a save would be refused'),
  issues: z.array(configIssueSchema),
}));

export const deployResultSchema = component('DeployResult', z.strictObject({ saved: configSaveResultSchema, model: modelInfoSchema.nullable(), entry: z.string() }));

export const removeModelResultSchema = component('RemoveModelResult', z.strictObject({
  saved: configSaveResultSchema,
  deletedFiles: z.array(z.string()),
  keptFiles: z.array(z.strictObject({ path: z.string(), reason: z.string() })),
}));

export const deleteFilesQuerySchema = z.enum(['true', 'false'], { error: 'delete_files must be true or false' }).describe('also delete its files, when they are inside a models folder (default false)');

// ---- usage -----------------------------------------------------------------------------------

export const usageStatusSchema = component('UsageStatus', z.strictObject({
  state: z.enum(['on', 'off', 'unavailable', 'error']).describe("on: recording; off: program.usage is off; unavailable: this Node has no SQLite; error: the database couldn't be opened"),
  message: z.string().nullable().describe('why it is off or failing, or that a damaged / locked file was moved aside'),
  path: z.string().nullable(),
  movedAside: z.string().nullable().describe('where an unusable file was moved'),
  sizeBytes: z.number().nullable(),
  oldest: z.number().nullable().describe('epoch ms of the oldest request kept'),
  keepDays: z.number().nullable(),
  maxMb: z.number().nullable(),
}));

const usageTotalsShape = {
  requests: z.int(),
  failed: z.int().describe('status 0 (the client went away) or ≥ 400'),
  promptTokens: z.number(),
  completionTokens: z.number(),
  cachedTokens: z.number(),
  tokensPerSecond: z.number().nullable().describe('completion tokens over generation time'),
  avgTotalMs: z.number().nullable(),
  avgTtftMs: z.number().nullable(),
  cost: z.number().nullable().describe('at the configured prices; null when nothing is priced'),
};

export const usageReportSchema = component('UsageReport', z.strictObject({
  status: usageStatusSchema,
  from: z.number(),
  to: z.number(),
  group: z.enum(['hour', 'day', 'month']),
  tz: z.string(),
  currency: z.string(),
  priced: z.boolean(),
  totals: z.strictObject(usageTotalsShape),
  series: z.strictObject({
    at: z.array(z.number()).describe('epoch ms where each bucket starts'),
    requests: z.array(z.number()),
    failed: z.array(z.number()),
    promptTokens: z.array(z.number()),
    completionTokens: z.array(z.number()),
    cost: z.array(z.number()),
    tokensPerSecond: z.array(z.strictObject({ model: z.string(), values: z.array(z.number().nullable()) })),
  }),
  models: z.array(z.strictObject({ model: z.string(), ...usageTotalsShape, tokenCost: z.number(), hourlyCost: z.number(), engineMs: z.number() })),
  clients: z.array(z.strictObject({ client: z.string(), ...usageTotalsShape })),
  months: z.array(z.strictObject({ month: z.string(), start: z.number(), tokenCost: z.number(), hourlyCost: z.number(), requests: z.int() })),
  modelNames: z.array(z.string()),
  clientNames: z.array(z.string()),
}), 'Usage in a time range: totals, a series, per model, per client, per month.');

export const usageRequestSchema = component('UsageRequest', z.strictObject({
  id: z.int(),
  startedAt: z.number(),
  model: z.string().describe('the configured model ("" when none matched)'),
  requested: z.string().describe('the name or alias the client asked for'),
  endpoint: z.string(),
  status: z.int().describe('0: the client went away before an answer began'),
  errorCode: z.string().nullable(),
  client: z.string().describe("the API key's name, else the User-Agent's product"),
  promptTokens: z.number().nullable(),
  completionTokens: z.number().nullable(),
  cachedTokens: z.number().nullable(),
  ttftMs: z.number().nullable(),
  totalMs: z.number(),
  tokensPerSecond: z.number().nullable(),
  streamed: z.boolean(),
}));

export const usageRequestsPageSchema = component('UsageRequestsPage', z.strictObject({
  requests: z.array(usageRequestSchema),
  next: z.int().nullable().describe('pass as before= for the next (older) page'),
}));

export const usageDeleteResultSchema = component('UsageDeleteResult', z.strictObject({ requests: z.int(), runs: z.int() }));

/** The query parameters of the usage routes (the OpenAPI document lists them; core/usage checks them). */
export const usageQueryParams: Readonly<Record<string, z.ZodType>> = {
  from: z.string().describe('start (inclusive): epoch ms or an ISO time; default 24 h before to'),
  to: z.string().describe('end (exclusive): epoch ms or an ISO time; default now'),
  model: z.string().describe('one model'),
  client: z.string().describe("one client: an API key's name or an app's User-Agent product"),
  group: z.enum(['hour', 'day', 'month']).describe('bucket size of the series; default from the range'),
  tz: z.string().describe('IANA time zone of days and months; default the node\'s'),
};
export const usageRequestsParams: Readonly<Record<string, z.ZodType>> = {
  ...usageQueryParams,
  failed: z.enum(['true', 'false']).describe('only failed requests'),
  limit: z.string().regex(/^\d+$/).describe('page size, 1-500 (default 50)'),
  before: z.string().regex(/^\d+$/).describe('the previous page\'s next'),
};

// ---- the management routes -------------------------------------------------------------------

/** A model name or alias in a path (URL-encoded), checked before any lookup. */
export const modelNameParamSchema = z
  .string()
  .max(256, 'a model name in the path must be at most 256 characters without control characters')
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'a model name in the path must be at most 256 characters without control characters')
  .describe('a model name or alias');

/** A saved config version: 0 is the newest. */
export const backupIdParamSchema = z.string().regex(/^[0-9]$/).describe('0 (the newest) to 9, as GET /api/config/backups lists them');

export const tailQuerySchema = z
  .string()
  .regex(/^\d+$/, `tail must be a whole number 0-${MAX_LOG_TAIL}`)
  .describe(`how many of the last lines (at most ${MAX_LOG_TAIL}; default 200)`);

export interface ManagerRouteSchemas<K extends ManagerCallName> {
  summary: string;
  /** The JSON body a POST takes. */
  body?: z.ZodType;
  /** The 200 answer: what ManagerApi[K] resolves with. */
  result: z.ZodType<Awaited<ReturnType<ManagerApi[K]>>>;
  /** Error statuses the route answers besides 400 (bad input) and 401/403 (the door). */
  errors?: readonly number[];
}

/** One entry per ManagerApi call: a method without schemas is a compile error. */
export const managerSchemas: { [K in ManagerCallName]: ManagerRouteSchemas<K> } = {
  health: { summary: 'Node health and model counts', result: healthInfoSchema },
  listModels: { summary: 'Every model', result: z.array(modelInfoSchema) },
  modelInfo: { summary: 'One model (by name or alias)', result: modelInfoSchema, errors: [404] },
  startModel: { summary: 'Start a model and wait until it is ready (for a running model: restart its idle countdown)', result: modelInfoSchema, errors: [404, 503] },
  stopModel: { summary: 'Stop a model (its whole process tree)', result: modelInfoSchema, errors: [404] },
  stopAll: { summary: 'Stop every model', result: z.array(modelInfoSchema) },
  modelLogs: { summary: "The last lines of a model's engine log", result: z.array(logLineSchema), errors: [404] },
  openLogFolder: { summary: "The model's log file (the desktop app also opens its folder)", result: logLocationSchema, errors: [404, 409] },
  holdModels: { summary: 'Hold models off: stop every engine, start none on request until released', result: healthInfoSchema },
  releaseModels: { summary: 'Release held models', result: healthInfoSchema },
  getDevices: { summary: 'CPU, RAM and GPU readings', result: devicesSnapshotSchema },
  getDeviceHistory: { summary: 'The last 10 minutes of device readings', result: devicesHistorySchema },
  getConfig: { summary: "The config file's text, path and problems", result: configDocumentSchema },
  saveConfig: { summary: 'Validate, save and apply a config text (nothing is written when it is invalid)', body: saveConfigBodySchema, result: configSaveResultSchema },
  checkConfig: { summary: 'Check a config text as a save would, and as only the node can (scripts, commands, cwd, devices), without saving it', body: checkConfigBodySchema, result: configCheckResultSchema },
  listConfigBackups: { summary: 'The last saved versions of the config, newest first', result: z.array(configBackupSchema) },
  readConfigBackup: { summary: "One saved version's text", result: configBackupTextSchema, errors: [404, 413] },
  listLibrary: { summary: "The GGUF models in the models folders, LM Studio's and the Hugging Face cache (read from their headers)", result: libraryListingSchema },
  listDownloads: { summary: 'Downloads of this run of the node, newest first', result: z.array(downloadInfoSchema) },
  startDownload: { summary: 'Download a Hugging Face file (or a URL) into the first models folder; progress comes as download events', body: downloadRequestSchema, result: downloadInfoSchema, errors: [409] },
  cancelDownload: { summary: 'Cancel a download (its .part is deleted), or forget a finished one', result: downloadInfoSchema, errors: [404] },
  listOllamaModels: { summary: "The models the Ollama server has (GET /api/tags of the config's first Ollama base_url, else the local one)", result: ollamaListingSchema },
  previewDeploy: { summary: 'The command line and config entry a deploy would write, checked as a save would check it', body: deploySpecSchema, result: deployPreviewSchema, errors: [404, 409] },
  deployModel: { summary: 'Add a model with an engine profile to config.yaml (comments kept, a backup made); with start, start it', body: deployRequestSchema, result: deployResultSchema, errors: [404, 409, 503] },
  removeModel: { summary: "Remove a model's entry from config.yaml (stopping it); its files stay unless delete_files=true", result: removeModelResultSchema, errors: [404] },
  getUsage: { summary: 'Requests, tokens, speed and cost in a time range: totals, series, per model, per client, per month', result: usageReportSchema },
  listUsageRequests: { summary: 'The recorded requests, newest first, a page at a time', result: usageRequestsPageSchema },
  exportUsageCsv: { summary: 'The recorded requests as CSV (text/csv)', result: z.string() },
  deleteUsage: { summary: 'Delete the recorded requests that started in [from, to) (at least one of them is required)', result: usageDeleteResultSchema },
};

/**
 * The routes in managerRoutes order, with their schemas, for the routes, the OpenAPI document and
 * its test. (A route whose schemas are missing — the compile error above, ignored — is still
 * served and listed, with its answer undescribed.)
 */
export function managerOperations(): ({ name: ManagerCallName } & (typeof managerRoutes)[ManagerCallName] & Partial<ManagerRouteSchemas<ManagerCallName>>)[] {
  return (Object.keys(managerRoutes) as ManagerCallName[]).map((name) => ({ name, ...managerRoutes[name], ...(managerSchemas[name] as ManagerRouteSchemas<ManagerCallName> | undefined) }));
}

// ---- /v1 -------------------------------------------------------------------------------------

/**
 * What the router reads of a /v1 request body: a JSON object with `model` (a name or alias). Every
 * other field (messages, `stream: true` …) is the engine's business and passes through untouched.
 */
export const proxiedRequestSchema = component('ProxiedRequest', z.looseObject({ model: requestedModelSchema }));

export const modelEntrySchema = component('ModelEntry', z.strictObject({
  id: z.string(),
  object: z.literal('model'),
  owned_by: z.string(),
  created: z.int(),
  mode: z.enum(MODEL_MODES),
  state: modelStateSchema,
  port: z.int(),
  aliases: z.array(z.string()).optional().describe('on a model'),
  parent: z.string().optional().describe('on an alias: the model it names'),
  root: z.string().optional(),
}));

export const modelListSchema = component('ModelList', z.strictObject({ object: z.literal('list'), data: z.array(modelEntrySchema) }));
