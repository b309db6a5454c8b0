// What our engines hold in GPU memory, as far as the window can honestly tell: measured per process
// by the driver; or, where the driver lists the processes without their memory (Windows WDDM
// reports "[N/A]"), what the running profile declared in memory_mb; or not known at all. Pure, for
// the Devices legend, the Models VRAM column and the status strip alike.
import type { DeviceReading, DevicesSnapshot, ModelInfo } from '../../src-shared/contract.js';
import { formatMb } from './format.js';

export type Held = { basis: 'measured' | 'declared'; mb: number } | { basis: 'unknown'; mb: null };

export const NOT_REPORTED: Held = { basis: 'unknown', mb: null };

export const UNSPLIT_HINT = "This GPU's driver doesn't report memory per process (Windows WDDM), so a model shows what its profile declares in memory_mb.";

/** memory_mb the running profile of `model` declared for `deviceId` (null: none). */
export type Declared = (model: string, deviceId: string) => number | null;

export function declaredFrom(models: readonly ModelInfo[] | undefined): Declared {
  const byName = new Map((models ?? []).map((m) => [m.name, m.declaredMemoryMb ?? null]));
  return (model, deviceId) => byName.get(model)?.[deviceId] ?? null;
}

/** Whether the driver reported the memory of every process it lists on this device. */
export function splitKnown(device: DeviceReading): boolean {
  return device.holders.every((h) => h.usedMb !== null);
}

/** What each of our models holds on one device, in the order the driver lists their processes. */
export function heldOnDevice(device: DeviceReading, declared: Declared): Map<string, Held> {
  const sums = new Map<string, number | null>();
  for (const h of device.holders) {
    if (h.model === null) continue;
    const before = sums.has(h.model) ? sums.get(h.model)! : 0;
    sums.set(h.model, before === null || h.usedMb === null ? null : before + h.usedMb);
  }
  const out = new Map<string, Held>();
  for (const [model, mb] of sums) {
    const promised = mb === null ? declared(model, device.id) : null;
    out.set(model, mb !== null ? { basis: 'measured', mb } : promised !== null ? { basis: 'declared', mb: promised } : NOT_REPORTED);
  }
  return out;
}

/** Two figures added up: measured only when both are, unknown when either is. */
export function addHeld(a: Held, b: Held): Held {
  if (a.basis === 'unknown' || b.basis === 'unknown') return NOT_REPORTED;
  return { basis: a.basis === 'measured' && b.basis === 'measured' ? 'measured' : 'declared', mb: a.mb + b.mb };
}

/** Per model, over every GPU of the reading. */
export function heldByModel(snapshot: DevicesSnapshot | undefined, declared: Declared): Map<string, Held> {
  const out = new Map<string, Held>();
  for (const device of snapshot?.devices ?? []) {
    if (device.kind !== 'gpu') continue;
    for (const [model, held] of heldOnDevice(device, declared)) {
      const before = out.get(model);
      out.set(model, before ? addHeld(before, held) : held);
    }
  }
  return out;
}

export function formatHeld(held: Held): string {
  if (held.basis === 'unknown') return 'not reported';
  return held.basis === 'declared' ? `≈ ${formatMb(held.mb)} (declared)` : formatMb(held.mb);
}

/**
 * The status strip's "held by our engines / total" over the online GPUs; null without any. Where a
 * part isn't measured the figure is approximate ("≈"), or "not reported" when no part is known.
 * A model's `vramMb` from the list counts where the reading has no figure of its own for it (the
 * list can be fresher), never on top of a declared one.
 */
export function heldSummary(snapshot: DevicesSnapshot | undefined, models: readonly ModelInfo[] | undefined): { text: string; approx: boolean } | null {
  const gpus = (snapshot?.devices ?? []).filter((d) => d.kind === 'gpu' && d.online && d.memory);
  const totalMb = gpus.reduce((sum, d) => sum + d.memory!.totalMb, 0);
  if (totalMb <= 0) return null;
  const held = heldByModel({ at: '', monitoringDisabled: false, devices: gpus }, declaredFrom(models));
  for (const m of models ?? []) {
    // A model the list already shows stopped holds nothing, whatever the last reading (up to a poll old) says.
    if (m.state === 'stopped' || m.state === 'failed') {
      held.delete(m.name);
      continue;
    }
    const reading = held.get(m.name);
    if (m.vramMb !== null && (!reading || (reading.basis === 'measured' && reading.mb < m.vramMb))) held.set(m.name, { basis: 'measured', mb: m.vramMb });
  }
  const parts = [...held.values()];
  const approx = parts.some((h) => h.basis !== 'measured');
  const mb = parts.reduce((sum, h) => sum + (h.mb ?? 0), 0);
  const text = !approx ? formatMb(mb) : mb > 0 ? `≈ ${formatMb(mb)}` : 'not reported';
  return { text: `${text} / ${formatMb(totalMb)}`, approx };
}
