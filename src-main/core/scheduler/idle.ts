// When an engine stops for idleness: alive_time after the end of the last request, and never
// while a request is in flight. Pure, so it is tested without timers.

export interface IdleInput {
  aliveTimeMs: number;
  inFlight: number;
  /** End of the last request, or when the engine became ready if it never served one. */
  lastActivity: number;
}

/** Epoch ms at which the engine should stop, or null when it must not be stopped for idleness. */
export function idleDeadline({ aliveTimeMs, inFlight, lastActivity }: IdleInput): number | null {
  if (aliveTimeMs <= 0 || inFlight > 0) return null;
  return lastActivity + aliveTimeMs;
}
