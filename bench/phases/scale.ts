// 1,000 concurrent streams through the router to one engine: completions, errors, router RSS peak.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { memoryKb } from '../procs.js';
import { settings } from '../settings.js';
import type { RouterProcess } from '../targets.js';

export interface ScaleResult {
  streams: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  peakConcurrent: number;
  routerRssBeforeMb: number;
  routerRssPeakMb: number;
  enginePeakRssMb: number;
  wallMs: number;
  firstByteP50Ms: number;
}

export async function scaleStreams(router: RouterProcess, enginePid: number | null, log: (line: string) => void): Promise<ScaleResult> {
  const body = JSON.stringify({ model: 'scale', messages: [{ role: 'user', content: 'many streams' }], stream: true, max_tokens: settings.scaleTokens });
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const before = memoryKb(router.pid)?.rss ?? NaN;
  let peak = before;
  let enginePeak = 0;
  const sampler = setInterval(() => {
    const rss = memoryKb(router.pid)?.rss;
    if (rss !== undefined && rss > peak) peak = rss;
    const e = enginePid ? memoryKb(enginePid)?.rss : undefined;
    if (e !== undefined && e > enginePeak) enginePeak = e;
  }, 20);
  let open = 0;
  let peakConcurrent = 0;
  const samples: string[] = [];
  const firstBytes: number[] = [];
  const t0 = performance.now();
  const outcomes = await Promise.all(
    Array.from(
      { length: settings.scaleStreams },
      () =>
        new Promise<boolean>((resolve) => {
          const sent = performance.now();
          let counted = false;
          const fail = (why: string) => {
            if (samples.length < 5) samples.push(why);
            if (counted) open--;
            counted = false;
            resolve(false);
          };
          const req = http.request(
            { host: '127.0.0.1', port: router.port, method: 'POST', path: '/v1/chat/completions', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
            (res) => {
              let tail = '';
              let first = true;
              open++;
              counted = true;
              peakConcurrent = Math.max(peakConcurrent, open);
              res.on('data', (c: Buffer) => {
                if (first) {
                  firstBytes.push(performance.now() - sent);
                  first = false;
                }
                tail = (tail + c.toString()).slice(-64);
              });
              res.on('end', () => {
                open--;
                counted = false;
                if (res.statusCode === 200 && tail.includes('[DONE]')) resolve(true);
                else fail(`status ${res.statusCode}, ended with ${JSON.stringify(tail)}`);
              });
              res.on('error', (err) => fail(err.message));
            },
          );
          req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
          req.on('error', (err) => fail(err.message));
          req.end(body);
        }),
    ),
  );
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  agent.destroy();
  firstBytes.sort((a, b) => a - b);
  const completed = outcomes.filter(Boolean).length;
  const result: ScaleResult = {
    streams: outcomes.length,
    completed,
    errors: outcomes.length - completed,
    errorSamples: samples,
    peakConcurrent,
    routerRssBeforeMb: before / 1024,
    routerRssPeakMb: peak / 1024,
    enginePeakRssMb: enginePeak / 1024,
    wallMs,
    firstByteP50Ms: firstBytes[Math.floor(firstBytes.length / 2)] ?? NaN,
  };
  log(
    `  ${result.streams} streams: ${completed} completed, ${result.errors} errors, peak ${peakConcurrent} open at once, ` +
      `router RSS ${result.routerRssBeforeMb.toFixed(1)} → peak ${result.routerRssPeakMb.toFixed(1)} MB, ${wallMs.toFixed(0)} ms`,
  );
  return result;
}
