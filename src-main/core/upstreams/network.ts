// Why a request to a server failed, in the words a person can act on (never a stack).

/** What a person reads when a server doesn't answer: the cause the network gave, never a stack. */
export function networkCause(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  const cause = e?.cause;
  if (cause?.code) return cause.code === 'ENOTFOUND' ? 'its host name is not known (ENOTFOUND)' : cause.code;
  return cause?.message ?? e?.message ?? String(err);
}
