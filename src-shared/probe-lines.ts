// An engine's log of our own readiness and health probes: the engine logs each one (a loading engine
// every 25 ms), and those lines bury what matters. The node leaves them out of failure reasons;
// the window folds runs of them into one line.

/**
 * Whether an engine's line is its log of one of our probes (a request line for `paths`, with or
 * without a status): `GET /health 503`, `request: GET /health 127.0.0.1 200`, uvicorn's
 * `"GET /health HTTP/1.1" 200 OK`.
 */
export function isProbeLine(text: string, paths: readonly string[]): boolean {
  for (const path of paths) {
    const at = text.indexOf(path);
    if (at < 0) continue;
    const after = text.charCodeAt(at + path.length);
    // The path itself, not a longer one (/health-check, /healthz).
    if (!Number.isNaN(after) && after !== 0x20 && after !== 0x22 && after !== 0x3f) continue;
    if (/\b(GET|HEAD)\s*$/.test(text.slice(Math.max(0, at - 8), at).replace(/"/g, ''))) return true;
  }
  return false;
}

/**
 * What makes two log lines "the same" for folding a run of them: the text, less the client
 * address an access log prints with each probe (uvicorn: `127.0.0.1:51234 - "GET /health ..."`).
 */
export function repeatKey(text: string): string {
  return text.replace(/\b\d{1,3}(\.\d{1,3}){3}:\d+\b/g, '');
}
