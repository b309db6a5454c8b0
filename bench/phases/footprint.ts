// The node at rest: RSS with 20 models configured (none running), and the CPU it uses while idle
// (utime + stime from /proc/PID/stat). The measured window has device polling on: the device
// monitor polls every 2 s only while someone watches (every 30 s otherwise), so the bench holds an
// SSE subscription to /api/events (as an open window does) and counts the device readings it
// receives. A second, shorter window without the subscriber is shown for reference. Runs beside the other phases, pinned to the client
// core, so its idle windows cost no extra wall time.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { clockTicksPerSecond, cpuTicks, freePorts, memoryKb, sleep } from '../procs.js';
import { startRouter, writeRouterConfig, type RouterBuild } from '../targets.js';
import { settings } from '../settings.js';

export interface FootprintResult {
  models: number;
  rssAfterStartMb: number;
  /** RSS at the end of the polling window. */
  rssIdleMb: number;
  /** RSS at the end of the quiet window (no subscriber). */
  rssQuietMb: number;
  hwmMb: number;
  idleSeconds: number;
  cpuPercentOfCore: number;
  cpuTicks: number;
  deviceEvents: number;
  quietSeconds: number;
  quietCpuPercentOfCore: number;
  clockTicksPerSecond: number;
}

export async function startFootprint(build: RouterBuild, dir: string): Promise<{ finish(): Promise<FootprintResult> }> {
  fs.mkdirSync(dir, { recursive: true });
  const [routerPort, ...ports] = await freePorts(settings.footprintModels + 1);
  const configPath = path.join(dir, 'config.yaml');
  writeRouterConfig(
    configPath,
    routerPort!,
    path.join(dir, 'logs'),
    ports.map((port, i) => ({ name: `model-${String(i + 1).padStart(2, '0')}`, port, flags: ['--load-ms', '100'], aliveTime: 15 })),
  );
  const router = await startRouter(build, configPath, routerPort!, settings.clientCpu);
  await sleep(2000); // past startup work (module loading, the first config read, lazy inits)
  const rssAfterStart = memoryKb(router.pid)?.rss ?? NaN;
  const watcher = subscribe(routerPort!);
  const hz = clockTicksPerSecond();
  const quietS = Math.min(settings.idleS, settings.quick ? 5 : 15);
  // The windows run on their own timers, so they last exactly idleS and quietS whatever else runs.
  const measured = (async () => {
    const ticks0 = cpuTicks(router.pid) ?? NaN;
    const t0 = Date.now();
    await sleep(settings.idleS * 1000);
    const ticks1 = cpuTicks(router.pid) ?? NaN;
    const t1 = Date.now();
    const rssIdle = memoryKb(router.pid)?.rss ?? NaN;
    const deviceEvents = watcher.close();
    await sleep(quietS * 1000);
    const ticks2 = cpuTicks(router.pid) ?? NaN;
    const t2 = Date.now();
    const mem = memoryKb(router.pid);
    const result: FootprintResult = {
      models: settings.footprintModels,
      rssAfterStartMb: rssAfterStart / 1024,
      rssIdleMb: rssIdle / 1024,
      rssQuietMb: (mem?.rss ?? NaN) / 1024,
      hwmMb: (mem?.hwm ?? NaN) / 1024,
      idleSeconds: (t1 - t0) / 1000,
      cpuTicks: ticks1 - ticks0,
      cpuPercentOfCore: (100 * (ticks1 - ticks0)) / hz / ((t1 - t0) / 1000),
      deviceEvents,
      quietSeconds: (t2 - t1) / 1000,
      quietCpuPercentOfCore: (100 * (ticks2 - ticks1)) / hz / ((t2 - t1) / 1000),
      clockTicksPerSecond: hz,
    };
    return result;
  })();
  return {
    async finish() {
      const result = await measured;
      await router.stop('SIGTERM', 5000);
      return result;
    },
  };
}

/** An SSE subscriber on /api/events; close() returns how many "devices" events arrived. */
function subscribe(port: number): { close(): number } {
  let devices = 0;
  let buffer = '';
  const req = http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { accept: 'text/event-stream' } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      buffer += text;
      const events = buffer.split('\n\n');
      buffer = events.pop() ?? '';
      for (const e of events) if (/^event: devices$/m.test(e)) devices++;
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  return {
    close() {
      req.destroy();
      return devices;
    },
  };
}
