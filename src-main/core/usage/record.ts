// One /v1 request as the router saw it: what the usage ledger stores. The router fills it from
// counters and timestamps it already has and from the answer's tail (never by buffering a
// stream); the ledger takes it off the request path (a push into an array) and batches it to disk.

export interface UsageRecord {
  /** Epoch ms when the request's first byte arrived. */
  startedAt: number;
  /** The configured model's name ('' when no model matched: 400/404 before routing). */
  model: string;
  /** The name the client asked for (an alias, or the model name itself). */
  requested: string;
  /** '/v1/chat/completions', '/v1/embeddings', … */
  endpoint: string;
  /** HTTP status the client got (0 when the client went away before an answer began). */
  status: number;
  /** The OpenAI-shaped error code when we answered with an error ('engine_died', …), else null. */
  errorCode: string | null;
  /** The API key's name when keys are used, else the User-Agent's product ('openai-python'), else ''. */
  client: string;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  /** Ms from the request's first byte to the answer's first body byte (first token when streamed). */
  ttftMs: number | null;
  /** Ms from the request's first byte to the answer's end. */
  totalMs: number;
  /** Generation speed: the engine's own timings when it sends them, else completion tokens over generation time. */
  tokensPerSecond: number | null;
  streamed: boolean;
}

/** Where the router hands records: cheap and synchronous, never throws. */
export interface UsageSink {
  record(rec: UsageRecord): void;
  /**
   * Whether records are kept (program.usage is not off): only then does the router ask an engine
   * for the usage of a stream whose client didn't (and drop that event on the way back).
   */
  wantsUsage?(): boolean;
}

/** An engine run as the supervisor saw it: hourly billing charges running time. */
export interface EngineRunRecord {
  model: string;
  /** Epoch ms of the spawn. */
  startedAt: number;
  /** Epoch ms when it answered its health check; null when it never did. */
  readyAt: number | null;
  /** Epoch ms of its exit; null while it runs. */
  stoppedAt: number | null;
}
