// NVIDIA GPUs through nvidia-smi's CSV queries: our process never loads CUDA or NVML, so a broken
// driver can only make a probe fail, never crash or hang the node.
import { CommandError, type RunCommand } from './run-command.js';

export const GPU_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.used', 'memory.free', 'utilization.gpu', 'temperature.gpu', 'power.draw'] as const;
/** gpu_uuid ties each process to its card (pid,used_memory alone can't say which card). */
export const APP_FIELDS = ['gpu_uuid', 'pid', 'used_memory'] as const;

export function gpuQueryArgs(): string[] {
  return [`--query-gpu=${GPU_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

export function appQueryArgs(): string[] {
  return [`--query-compute-apps=${APP_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

export interface NvidiaGpu {
  index: number;
  uuid: string | null;
  name: string;
  totalMb: number | null;
  usedMb: number | null;
  freeMb: number | null;
  utilizationPct: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

export interface NvidiaApp {
  gpuUuid: string;
  pid: number;
  /** null where the driver doesn't report it (Windows WDDM, "[N/A]"). */
  usedMb: number | null;
}

export type NvidiaReading =
  | { ok: true; gpus: NvidiaGpu[]; apps: NvidiaApp[] | null; appsError: string | null }
  /** `missing`: no nvidia-smi at all (no NVIDIA driver), which is normal on many machines. */
  | { ok: false; reason: string; missing: boolean };

/** "[N/A]", "[Not Supported]", "N/A", "" → null; otherwise the number (null when it isn't one). */
function numberField(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const text = raw.trim();
  if (text === '' || text.startsWith('[') || /^n\/?a$/i.test(text)) return null;
  const value = Number(text.replace(/\s*(MiB|MB|W|%|C)$/i, ''));
  return Number.isFinite(value) ? value : null;
}

function textField(raw: string | undefined): string | null {
  const text = raw?.trim() ?? '';
  return text === '' || text.startsWith('[') ? null : text;
}

/** Splits one CSV row of nvidia-smi (names may be quoted when they contain a comma). */
function splitRow(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => c.trim());
}

/** Parses `--query-gpu` output; throws when it isn't what we asked for. */
export function parseGpuList(text: string): NvidiaGpu[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 1 && /no devices were found/i.test(lines[0]!)) return [];
  const gpus: NvidiaGpu[] = [];
  for (const line of lines) {
    const cells = splitRow(line);
    const index = numberField(cells[0]);
    const name = textField(cells[2]);
    if (cells.length !== GPU_FIELDS.length || index === null || !Number.isInteger(index) || index < 0 || name === null) {
      throw new Error(`unexpected nvidia-smi output: ${JSON.stringify(line.slice(0, 120))}`);
    }
    const total = numberField(cells[3]);
    const used = numberField(cells[4]);
    const free = numberField(cells[5]);
    gpus.push({
      index,
      uuid: textField(cells[1]),
      name,
      totalMb: total,
      usedMb: used ?? (total !== null && free !== null ? total - free : null),
      freeMb: free ?? (total !== null && used !== null ? total - used : null),
      utilizationPct: numberField(cells[6]),
      temperatureC: numberField(cells[7]),
      powerW: numberField(cells[8]),
    });
  }
  return gpus;
}

/** Parses `--query-compute-apps` output; throws when it isn't what we asked for. */
export function parseAppList(text: string): NvidiaApp[] {
  const apps: NvidiaApp[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || /no running (compute )?processes found/i.test(line)) continue;
    const cells = splitRow(line);
    const pid = numberField(cells[1]);
    const gpuUuid = textField(cells[0]);
    if (cells.length !== APP_FIELDS.length || pid === null || !Number.isInteger(pid) || pid <= 0 || gpuUuid === null) {
      throw new Error(`unexpected nvidia-smi output: ${JSON.stringify(line.slice(0, 120))}`);
    }
    apps.push({ gpuUuid, pid, usedMb: numberField(cells[2]) });
  }
  return apps;
}

/** One reading of every NVIDIA GPU and the processes holding their memory. */
export async function probeNvidia(run: RunCommand, file: string, timeoutMs: number): Promise<NvidiaReading> {
  // Both queries at once: a hanging driver costs one timeout, not two.
  const [gpuResult, appResult] = await Promise.allSettled([run(file, gpuQueryArgs(), timeoutMs), run(file, appQueryArgs(), timeoutMs)]);
  if (gpuResult.status === 'rejected') {
    const missing = gpuResult.reason instanceof CommandError && gpuResult.reason.kind === 'not-found';
    return { ok: false, reason: describe(gpuResult.reason), missing };
  }
  let gpus: NvidiaGpu[];
  try {
    gpus = parseGpuList(gpuResult.value.stdout);
  } catch (err) {
    return { ok: false, reason: (err as Error).message, missing: false };
  }
  if (appResult.status === 'rejected') return { ok: true, gpus, apps: null, appsError: describe(appResult.reason) };
  try {
    return { ok: true, gpus, apps: parseAppList(appResult.value.stdout), appsError: null };
  } catch (err) {
    return { ok: true, gpus, apps: null, appsError: (err as Error).message };
  }
}

function describe(err: unknown): string {
  return err instanceof CommandError ? err.message : `nvidia-smi: ${(err as Error)?.message ?? String(err)}`;
}
