// How a device's memory bar splits: each engine a segment (summed over its processes), the rest of
// used memory "other processes". Where the driver lists processes without their memory (Windows
// WDDM) that split is unknown: the bar shows the card's used total alone, the engines stay in the
// legend with what their profiles declared (or "not reported"), and no "other" figure is made up.
import type { DeviceReading } from '../../../src-shared/contract.js';
import { colorSlot } from '../../lib/color-slot.js';
import { formatHeld, heldOnDevice, splitKnown, type Declared } from '../../lib/held-memory.js';

export interface BarSegment {
  key: string;
  label: string;
  value: number;
  kind: 'model' | 'other' | 'used';
  /** Colour slot 0-7 for model segments. */
  slot?: number;
  /** false: a legend entry only, its value not drawn or added up (a model whose share is unknown). */
  inBar?: boolean;
  /** What the legend says instead of the formatted value ("≈ 7.8 GB (declared)"). */
  text?: string;
}

export function memorySegments(device: DeviceReading, declared: Declared): BarSegment[] {
  const held = [...heldOnDevice(device, declared)];
  const used = device.memory?.usedMb ?? 0;
  if (!splitKnown(device)) {
    const models: BarSegment[] = held.map(([model, h]) => ({ key: `m:${model}`, label: model, value: h.mb ?? 0, kind: 'model', slot: colorSlot(model), inBar: false, text: formatHeld(h) }));
    return [...models, { key: 'used', label: 'in use', value: used, kind: 'used' }];
  }
  const segments: BarSegment[] = held.map(([model, h]) => ({ key: `m:${model}`, label: model, value: h.mb ?? 0, kind: 'model', slot: colorSlot(model) }));
  const ours = segments.reduce((sum, s) => sum + s.value, 0);
  const other = Math.max(0, used - ours);
  if (other > 0 || segments.length === 0) segments.push({ key: 'other', label: 'other processes', value: other, kind: 'other' });
  return segments;
}
