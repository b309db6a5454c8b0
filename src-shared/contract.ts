// ManagerApi: every call and event between the core and its clients (the window over IPC, a
// browser or script over HTTP + SSE), declared once. Both transports are derived from
// `managerRoutes`, so a method added here without a route is a compile error.
import type { ConfigIssue, EngineKind, ModelMode } from './config.js';
import type { UsageDeleteResult, UsageQuery, UsageRange, UsageReport, UsageRequestsPage, UsageRequestsQuery } from './usage.js';

export type ModelState = 'stopped' | 'starting' | 'ready' | 'stopping' | 'failed';

export interface ModelError {
  message: string;
  /** Exit code of the engine process, when it exited. */
  exitCode: number | null;
  signal: string | null;
  /** This run's last log lines before the failure (the engine's log of our probes left out). */
  logTail: string[];
  /** This run's last error-looking lines (at most 3): what a failure box shows first. */
  errorLines?: string[];
  at: string;
}

export interface ProfileSkip {
  profile: string;
  reason: string;
}

export interface ModelInfo {
  name: string;
  aliases: string[];
  mode: ModelMode;
  /** The port the engine listens on (or will): the configured one, or the one given for this run; null: given at start. */
  port: number | null;
  /** The command line of the current (or last) start, macros expanded; null before the first start. */
  launch?: string | null;
  state: ModelState;
  autoStart: boolean;
  pid: number | null;
  /** The launch profile in use (or last used). */
  profile: string | null;
  /** Profiles passed over at the last start, and why. */
  skippedProfiles: ProfileSkip[];
  startedAt: string | null;
  readyAt: string | null;
  lastUsed: string | null;
  inFlight: number;
  /** When the idle timer will stop the engine; null when it won't (busy, stopped, alive_time 0). */
  idleStopAt: string | null;
  aliveTimeMs: number;
  lastError: ModelError | null;
  /** GPU memory held by this engine's processes (MB), when GPUs are monitored and report it per process. */
  vramMb: number | null;
  /**
   * What the profile in use declared in memory_mb, per device id it was placed on ("gpu0", "ram"),
   * while the engine runs: the figure to show where the driver doesn't report per-process memory
   * (Windows WDDM). Added by the node; absent or null when nothing was declared.
   */
  declaredMemoryMb?: Readonly<Record<string, number>> | null;
  /** How far the start has come while state is "starting"; null (or absent) otherwise. */
  loading?: LoadingProgress | null;
  /** keep: never stopped to make room or for idleness (absent: false). */
  keep?: boolean;
  /** resident: started with the node, and again once its devices are free after it was stopped to make room. */
  resident?: boolean;
  /** Models of this group never run together. */
  exclusiveGroup?: string | null;
  /**
   * A model this node proxies to a server it does not spawn (#16): an OpenAI-compatible one, an
   * Ollama, or another LLM Manager node (`peer`: its name). Its state is that server's reachability
   * (a peer's model: the peer's own state while the peer answers). Never carries a key.
   */
  upstream?: ModelUpstream | null;
}

export interface ModelUpstream {
  kind: 'openai' | 'ollama' | 'peer';
  /** The base URL requests go to. */
  url: string;
  peer?: string;
}

/**
 * A start's progress. `source` "engine": from the engine's own log (llama-server's load dots and
 * stages, vLLM's shard bars and milestones); "estimate": the time since the start against how
 * long the last successful start took; null: neither is known yet (only the time shows).
 */
export interface LoadingProgress {
  /** 0..1, or null when nothing tells. An estimate stays below 1 until the engine is ready. */
  fraction: number | null;
  /** What the engine says it is doing ("loading weights", "warming up"); null when it says nothing. */
  stage: string | null;
  source: 'engine' | 'estimate' | null;
  /** Since the start began, when this was computed (clients add the time since they received it). */
  elapsedMs: number;
  /** How long the last successful start of this model took; null before the first. */
  expectedMs: number | null;
}

export interface DeviceMemory {
  totalMb: number;
  usedMb: number;
  freeMb: number;
}

/** A process holding device memory: one of our engines (model set) or someone else's (null). */
export interface MemoryHolder {
  model: string | null;
  pid: number;
  /** null: the driver lists the process but not its memory (Windows WDDM reports "[N/A]"). */
  usedMb: number | null;
}

export interface DeviceReading {
  /** Stable id used in config matching and the UI: "gpu0", "gpu1", "cpu", "ram", "plugin:<name>:<n>". */
  id: string;
  kind: 'gpu' | 'cpu' | 'ram';
  /** nvidia, amd, intel, … or the plugin's name. */
  vendor: string;
  index: number | null;
  /** NVIDIA's "GPU-…" id when known: stays with the card when nvidia-smi renumbers them. */
  uuid?: string | null;
  name: string;
  online: boolean;
  /** Why it is offline (nvidia-smi missing, timed out, card gone …). */
  offlineReason: string | null;
  memory: DeviceMemory | null;
  utilizationPct: number | null;
  temperatureC: number | null;
  powerW: number | null;
  holders: MemoryHolder[];
}

export interface DevicesSnapshot {
  /** ISO time of the reading. */
  at: string;
  monitoringDisabled: boolean;
  devices: DeviceReading[];
}

/**
 * The last ~10 minutes of readings the node took (kept while it runs, at most one point every
 * couple of seconds), oldest first, so a window opened now can draw them at once.
 */
export interface DevicesHistory {
  /** Epoch ms of each reading: the same instant as that reading's DevicesSnapshot.at. */
  at: number[];
  /** One series per device seen in that time, aligned with `at`; null where it was offline or not read. */
  devices: DeviceSeries[];
}

export interface DeviceSeries {
  id: string;
  memUsedMb: (number | null)[];
  utilPct: (number | null)[];
}

/** Where a model's log file is, and whether its folder was opened for the user (the desktop app). */
export interface LogLocation {
  path: string;
  /** false where the node can't open folders for the caller (headless, a browser): show the path. */
  opened: boolean;
}

export interface ConfigDocument {
  path: string;
  text: string;
  /** Problems of the text on disk (a file edited into an invalid state keeps the last good config running). */
  issues: ConfigIssue[];
}

export interface ConfigSaveResult {
  ok: boolean;
  /** Errors (nothing was written) or warnings (saved). */
  issues: ConfigIssue[];
  added: string[];
  removed: string[];
  changed: string[];
  /** What will happen, for a toast: "qwen will restart when idle". */
  message: string;
  /**
   * Nothing was saved because the text removes every model, or is empty: `removeAll` names the
   * models it would remove. Send it again with `confirmRemoveAll` to save it anyway.
   */
  needsConfirmation?: { removeAll: string[] };
}

/**
 * A config text checked as a save would check it, and as only the node can (is each profile's
 * script or command there and runnable, its cwd there, its devices present), without saving it.
 */
export interface ConfigCheckResult {
  /** false: the text has errors, and a save would be refused. */
  ok: boolean;
  /** Errors and warnings, in text order. */
  issues: ConfigIssue[];
}

export interface ConfigSaveOptions {
  /** Save even though the text removes every model (or empties the file). HTTP: `"confirm_remove_all": true`. */
  confirmRemoveAll?: boolean;
}

/** A saved version of config.yaml (`config.yaml.bak` is id "0", the newest; `.bak.9` the oldest). */
export interface ConfigBackup {
  id: string;
  /** When this version was saved (the file's modification time), ISO. */
  savedAt: string;
  sizeBytes: number;
  /** How many models it has; null when it is not a valid config. */
  models: number | null;
}

export interface ConfigBackupText {
  id: string;
  savedAt: string;
  text: string;
}

/** Where a library file was found: program.models_dirs, LM Studio's models folder, or the Hugging Face cache. */
export type LibrarySource = 'models_dir' | 'lmstudio' | 'huggingface';
export type LibraryKind = 'chat' | 'embedding' | 'reranker' | 'mmproj';

/** A GGUF model found in the models folders (GET /api/library); read from its header, never its weights. */
export interface LibraryEntry {
  /** The file to load (a split model's first part). */
  path: string;
  /** Its path under the folder it was found in; in the Hugging Face cache `owner/repo/file.gguf`. */
  name: string;
  source: LibrarySource;
  /** All parts of a split model together. */
  sizeBytes: number;
  modifiedAt: string;
  /** general.architecture ("llama", "qwen3", "bert", "clip"). */
  architecture: string | null;
  /** general.name */
  modelName: string | null;
  parameters: number | null;
  /** metadata: general.parameter_count; tensors: the tensors' shapes summed; size_label: general.size_label; estimate: from the file size and quantisation. */
  parametersSource: 'metadata' | 'tensors' | 'size_label' | 'estimate' | null;
  /** Q4_K_M, Q8_0, F16, ... */
  quantization: string | null;
  /** header: general.file_type; file_name: written in the file's name. */
  quantizationSource: 'header' | 'file_name' | null;
  /** The context length the model was trained for (`<arch>.context_length`). */
  contextLength: number | null;
  /** mmproj: a vision projector with no model beside it to attach to. */
  kind: LibraryKind;
  /** Projector (mmproj) files in the same folder, the likeliest first (F16, BF16, then the rest). */
  mmproj?: string[];
  /** A split model's parts, in order. */
  splitParts?: string[];
  /** Models in config.yaml whose launch profile names this file. */
  usedBy: string[];
  /** Why the file couldn't be read (it is listed anyway, with what its name says). */
  error?: string;
}

export interface LibraryRootInfo {
  path: string;
  source: LibrarySource;
  present: boolean;
  /** A folder that is there but couldn't be read. */
  error: string | null;
}

export interface LibraryListing {
  scannedAt: string;
  durationMs: number;
  roots: LibraryRootInfo[];
  entries: LibraryEntry[];
}

/**
 * A download into the first models folder (POST /api/library/downloads): a Hugging Face repo +
 * file, or a URL. `repo` + `file` and `url` are mutually exclusive.
 */
export interface DownloadRequest {
  /** "owner/name" on the hub (program.hf_endpoint). */
  repo?: string;
  /** The file's path in the repo ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "sub/folder/x.gguf"). */
  file?: string;
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** A direct http(s) URL instead of repo + file. */
  url?: string;
}

export type DownloadState = 'downloading' | 'verifying' | 'done' | 'failed' | 'cancelled';

export interface DownloadInfo {
  id: string;
  /** What was asked for: "owner/repo/file" or the URL. */
  source: string;
  repo: string | null;
  file: string | null;
  /** Where the file goes (written as `<path>.part` until it is complete and verified). */
  path: string;
  state: DownloadState;
  /** Bytes on disk so far (including what an earlier, interrupted run left). */
  bytes: number;
  /** The file's size, once the server said it; null until then (or never, for some URLs). */
  totalBytes: number | null;
  /** Bytes per second over the last few seconds; null before there is a measure. */
  speedBps: number | null;
  /** Seconds left at that speed; null when unknown. */
  etaS: number | null;
  /** Bytes this download started from (an earlier `.part`): it resumed rather than started over. */
  resumedFrom: number;
  /** The SHA-256 the hub publishes for the file (its LFS id), when it does. */
  sha256: string | null;
  /** What the finished file was checked against: the published SHA-256, else the size. */
  verified: 'sha256' | 'size' | null;
  /** Why it failed, in words that say what to do. */
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

/** The Deploy form: a model entry for config.yaml with one engine profile. */
export interface DeploySpec {
  /** The model's name (the key under Local-Models, what clients ask for). */
  name: string;
  /** ollama: a model of an Ollama server (its name in `model`, the server in `baseUrl`). */
  engine: EngineKind | 'ollama';
  /** Ollama's address; absent: the local one (http://127.0.0.1:11434). */
  baseUrl?: string | null;
  /** llama.cpp: a .gguf path or "hf:owner/repo[:quant]"; vLLM/SGLang: a folder or a Hugging Face id. */
  model: string;
  aliases?: string[];
  mode?: ModelMode;
  /** Device ids to run on ("gpu0", "gpu1"); empty or absent: the CPU. */
  devices?: string[];
  /** llama.cpp context size (tokens); vLLM/SGLang max model length. */
  context?: number | null;
  /** llama.cpp: layers on the GPU; default "all" on a GPU, 0 on the CPU. */
  gpuLayers?: number | 'all' | 'auto' | null;
  /** Memory the engine needs (MB) per chosen device: the scheduler's memory_mb; default the estimate. */
  memoryMb?: number | null;
  /** vLLM/SGLang: the share of each GPU's memory to use. */
  gpuMemoryUtilization?: number | null;
  /** A fixed port; absent: one is given at each start from program.engine_ports. */
  port?: number | null;
  autoStart?: boolean;
  extraArgs?: string[];
}

/** The models an Ollama server has (its GET /api/tags), for the Add model page's Ollama tab. */
export interface OllamaListing {
  baseUrl: string;
  /** null: Ollama answered; else why not, saying what to do ("Ollama is not running at …; start it with `ollama serve`"). */
  error: string | null;
  models: OllamaModelEntry[];
}

export interface OllamaModelEntry {
  /** "qwen2.5:7b" */
  name: string;
  sizeBytes: number | null;
  family: string | null;
  parameterSize: string | null;
  quantization: string | null;
  /** Our models that serve it already. */
  usedBy: string[];
}

/** What a deploy would do, without doing it: the command line and the config entry. */
export interface DeployPreview {
  name: string;
  /** The exact command line, as the model's details and log will show it (the port as ${PORT} when given at start). */
  command: string;
  argv: string[];
  /** The YAML the save adds under Local-Models. */
  entry: string;
  /** The memory the entry declares per device (MB), from the estimate or the form. */
  memoryMb: Record<string, number>;
  /** The estimate behind it: the weights and the context's cache. */
  estimate: { weightsMb: number; contextMb: number; totalMb: number } | null;
  /** false: a save would be refused (issues says why). */
  ok: boolean;
  /** The config check's errors and warnings about the new entry. */
  issues: ConfigIssue[];
}

export interface DeployRequest extends DeploySpec {
  /** Start the model once it is saved, and answer when it is ready (as startModel). */
  start?: boolean;
}

export interface DeployResult {
  saved: ConfigSaveResult;
  /** The model as it is now (after its start, with `start`); null when the save was refused. */
  model: ModelInfo | null;
  entry: string;
}

export interface RemoveModelOptions {
  /** Also delete the model's files, when they are inside a models folder. HTTP: `?delete_files=true`. */
  deleteFiles?: boolean;
}

export interface RemoveModelResult {
  saved: ConfigSaveResult;
  /** Files deleted (with deleteFiles). */
  deletedFiles: string[];
  /** Files its profiles name that were left where they are, and why. */
  keptFiles: { path: string; reason: string }[];
}

export interface HealthInfo {
  status: 'ok';
  version: string;
  uptimeS: number;
  endpoint: string;
  configPath: string;
  models: { total: number; running: number; starting: number; failed: number };
  /** Since when models are held off (ISO time): every engine stopped, none started on request. */
  heldSince: string | null;
}

export interface LogLine {
  /** Increases by one per line of one model, so clients can join history and live lines. */
  seq: number;
  ts: number;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}

export type ManagerEvent =
  | { type: 'model'; model: ModelInfo }
  | { type: 'log'; model: string; line: LogLine }
  | { type: 'devices'; devices: DevicesSnapshot }
  | { type: 'config'; result: ConfigSaveResult }
  | { type: 'hold'; heldSince: string | null }
  /** A download's progress (a few times a second), and its end; `done` means the library has the file. */
  | { type: 'download'; download: DownloadInfo };

/** The one door into the core for the window, the tray and HTTP clients. */
export interface ManagerApi {
  health(): Promise<HealthInfo>;
  listModels(): Promise<ModelInfo[]>;
  modelInfo(name: string): Promise<ModelInfo>;
  startModel(name: string): Promise<ModelInfo>;
  stopModel(name: string): Promise<ModelInfo>;
  stopAll(): Promise<ModelInfo[]>;
  modelLogs(name: string, tail?: number): Promise<LogLine[]>;
  /** The model's log file; in the desktop app its folder is opened in the file manager too. */
  openLogFolder(name: string): Promise<LogLocation>;
  /**
   * Holds models off (for a game): stops every engine and starts none on request until released
   * (a request gets 503 models_held; an explicit start still works). Resolves once all are stopped.
   */
  holdModels(): Promise<HealthInfo>;
  releaseModels(): Promise<HealthInfo>;
  getDevices(): Promise<DevicesSnapshot>;
  getDeviceHistory(): Promise<DevicesHistory>;
  getConfig(): Promise<ConfigDocument>;
  /**
   * Validates, saves atomically (keeping the last 10 versions as backups) and applies; an invalid
   * text is refused, nothing written. One that removes every model needs `confirmRemoveAll`.
   */
  saveConfig(text: string, options?: ConfigSaveOptions): Promise<ConfigSaveResult>;
  /** Checks a config text without saving it: the parser's issues and the node's own (files, devices). */
  checkConfig(text: string): Promise<ConfigCheckResult>;
  /** The saved versions of config.yaml, newest first. */
  listConfigBackups(): Promise<ConfigBackup[]>;
  /** One saved version's text (to load into the editor; saving it is a normal save). */
  readConfigBackup(id: string): Promise<ConfigBackupText>;
  /** The GGUF files in the models folders, LM Studio's and the Hugging Face cache (headers only). */
  listLibrary(): Promise<LibraryListing>;
  /** Downloads of this run of the node, newest first. */
  listDownloads(): Promise<DownloadInfo[]>;
  /**
   * Starts a download into the first models folder and answers at once (progress comes as
   * `download` events). A `.part` an earlier run left is resumed.
   */
  startDownload(request: DownloadRequest): Promise<DownloadInfo>;
  /** Cancels a running download (its `.part` is deleted), or forgets a finished one. */
  cancelDownload(id: string): Promise<DownloadInfo>;
  /** The models the Ollama server has (the config's first Ollama base_url, else the local one). */
  listOllamaModels(): Promise<OllamaListing>;
  /** The command line and config entry a deploy would write, checked as a save would check it. */
  previewDeploy(spec: DeploySpec): Promise<DeployPreview>;
  /** Adds the model to config.yaml (validated, atomic, with a backup; comments kept); with `start`, starts it. */
  deployModel(request: DeployRequest): Promise<DeployResult>;
  /** Removes a model's entry from config.yaml (stopping it); its files stay unless `deleteFiles`. */
  removeModel(name: string, options?: RemoveModelOptions): Promise<RemoveModelResult>;
  /** Requests, tokens, speed and cost in a time range: totals, a series, per model and per client, per month (usage.sqlite). */
  getUsage(query?: UsageQuery): Promise<UsageReport>;
  /** The recorded requests, newest first, a page at a time (`next` → `before`). */
  listUsageRequests(query?: UsageRequestsQuery): Promise<UsageRequestsPage>;
  /** The recorded requests as CSV (HTTP: text/csv). */
  exportUsageCsv(query?: UsageQuery): Promise<string>;
  /** Deletes the recorded requests (and finished engine runs) that started in the range. */
  deleteUsage(range: UsageRange): Promise<UsageDeleteResult>;
  /** Live events (only `types`, when given); returns the unsubscribe function. */
  subscribe(listener: (event: ManagerEvent) => void, types?: readonly ManagerEvent['type'][]): () => void;
}

/** Methods that are plain request → response calls (subscribe is a stream, carried separately). */
export type ManagerCallName = Exclude<keyof ManagerApi, 'subscribe'>;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** Express-style path; `:name` is a model name or alias, URL-encoded. */
  path: string;
  /**
   * Which call arguments go where: path `:name`, query `?tail=`, JSON body `{"text"}`, JSON body
   * `{"confirm_remove_all"}` (saveOptions), path `:id` (backupId), path `:id` (downloadId), the
   * whole JSON body, shaped as the call's argument type (body), query `?delete_files=` (removeOptions).
   */
  args: readonly ('name' | 'tail' | 'text' | 'saveOptions' | 'backupId' | 'downloadId' | 'body' | 'removeOptions' | 'query')[];
  /** The 200 answer's type when it isn't JSON (query: the call's one argument, an object, as query parameters). */
  produces?: 'text/csv';
}

export const managerRoutes = {
  health: { method: 'GET', path: '/api/health', args: [] },
  listModels: { method: 'GET', path: '/api/models', args: [] },
  modelInfo: { method: 'GET', path: '/api/models/:name/info', args: ['name'] },
  startModel: { method: 'POST', path: '/api/models/:name/start', args: ['name'] },
  stopModel: { method: 'POST', path: '/api/models/:name/stop', args: ['name'] },
  stopAll: { method: 'POST', path: '/api/models/stop-all', args: [] },
  modelLogs: { method: 'GET', path: '/api/models/:name/logs', args: ['name', 'tail'] },
  openLogFolder: { method: 'POST', path: '/api/models/:name/log-folder', args: ['name'] },
  holdModels: { method: 'POST', path: '/api/hold', args: [] },
  releaseModels: { method: 'POST', path: '/api/release', args: [] },
  getDevices: { method: 'GET', path: '/api/devices', args: [] },
  getDeviceHistory: { method: 'GET', path: '/api/devices/history', args: [] },
  getConfig: { method: 'GET', path: '/api/config', args: [] },
  saveConfig: { method: 'POST', path: '/api/config', args: ['text', 'saveOptions'] },
  checkConfig: { method: 'POST', path: '/api/config/check', args: ['text'] },
  listConfigBackups: { method: 'GET', path: '/api/config/backups', args: [] },
  readConfigBackup: { method: 'GET', path: '/api/config/backups/:id', args: ['backupId'] },
  listLibrary: { method: 'GET', path: '/api/library', args: [] },
  listDownloads: { method: 'GET', path: '/api/library/downloads', args: [] },
  startDownload: { method: 'POST', path: '/api/library/downloads', args: ['body'] },
  cancelDownload: { method: 'DELETE', path: '/api/library/downloads/:id', args: ['downloadId'] },
  listOllamaModels: { method: 'GET', path: '/api/ollama/models', args: [] },
  previewDeploy: { method: 'POST', path: '/api/models/preview', args: ['body'] },
  deployModel: { method: 'POST', path: '/api/models', args: ['body'] },
  removeModel: { method: 'DELETE', path: '/api/models/:name', args: ['name', 'removeOptions'] },
  getUsage: { method: 'GET', path: '/api/usage', args: ['query'] },
  listUsageRequests: { method: 'GET', path: '/api/usage/requests', args: ['query'] },
  exportUsageCsv: { method: 'GET', path: '/api/usage/export.csv', args: ['query'], produces: 'text/csv' },
  deleteUsage: { method: 'DELETE', path: '/api/usage', args: ['query'] },
} as const satisfies Record<ManagerCallName, RouteSpec>;

/** SSE stream of ManagerEvent (`event: <type>`, `data: <json>`). */
export const EVENTS_PATH = '/api/events';
/** SSE stream of one model's log: history (`?tail=N`) first, then live lines. */
export const LOG_STREAM_PATH = '/api/models/:name/logs/stream';

export const MAX_LOG_TAIL = 2000;
