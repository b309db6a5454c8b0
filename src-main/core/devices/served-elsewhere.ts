// GPU memory of models a server we don't spawn holds for us (Ollama's /api/ps size_vram): its
// process shows in nvidia-smi as someone else's. Each such model takes the unattributed process of
// the closest size on the card where most memory is unattributed (relabelled: its pid stays real);
// where none is close, it is added as a holder of its own (at most the card's use no model of ours
// accounts for), so the card's "other processes" shrink.
import type { DeviceReading } from '../../../src-shared/contract.js';

export interface ServedElsewhere {
  model: string;
  usedMb: number;
}

/** A process within this share of a model's reported size is taken to be the one holding it. */
const SAME_SIZE = 0.15;

export function attributeServedElsewhere(gpus: DeviceReading[], served: readonly ServedElsewhere[]): void {
  for (const { model, usedMb } of served) {
    if (usedMb <= 0) continue;
    const online = gpus.filter((d) => d.kind === 'gpu' && d.online);
    if (online.length === 0) return;
    const unattributed = (d: DeviceReading) => d.holders.reduce((sum, h) => sum + (h.model === null ? h.usedMb ?? 0 : 0), 0);
    const gpu = online.reduce((best, d) => (unattributed(d) > unattributed(best) ? d : best));
    let closest: number = -1;
    gpu.holders.forEach((h, i) => {
      if (h.model !== null || h.usedMb === null || Math.abs(h.usedMb - usedMb) > usedMb * SAME_SIZE) return;
      if (closest < 0 || Math.abs(h.usedMb - usedMb) < Math.abs(gpu.holders[closest]!.usedMb! - usedMb)) closest = i;
    });
    if (closest >= 0) {
      gpu.holders[closest] = { ...gpu.holders[closest]!, model };
      continue;
    }
    // Never more than the card's use that no model of ours accounts for.
    const ours = gpu.holders.reduce((sum, h) => sum + (h.model !== null ? h.usedMb ?? 0 : 0), 0);
    const room = (gpu.memory?.usedMb ?? Infinity) - ours;
    if (room > 0) gpu.holders.push({ model, pid: 0, usedMb: Math.min(usedMb, room) });
  }
}
