// One /v1 request as the router saw it: what the usage ledger stores. The router fills it from
// counters and timestamps it already has and from the answer's tail (never by buffering a
// stream); the ledger takes it off the request path (a push into an array) and batches it to disk.

import type { UsageRequest } from '../../../src-shared/usage.js';

/** A recorded request before the ledger numbers it (its fields are described on UsageRequest). */
export type UsageRecord = Omit<UsageRequest, 'id'>;

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
