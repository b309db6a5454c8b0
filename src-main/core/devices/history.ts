// The last 10 minutes of device readings, kept in the node so a window opened now draws its charts
// at once. Fixed-size typed arrays, one slot per reading, whatever the poll interval: readings
// closer together than a slot (a start probing every 200 ms, a fast test interval) are dropped,
// so the buffer never holds more than ~400 points per device (a few KB each).
import type { DeviceReading, DevicesHistory, DeviceSeries } from '../../../src-shared/contract.js';

export const HISTORY_MS = 10 * 60_000;
/** Points over the window at the default 2 s poll; a faster poll is thinned to this. */
export const HISTORY_POINTS = 300;

interface Series {
  mem: Float32Array;
  util: Float32Array;
}

export class ReadingHistory {
  /** Readings closer than this to the last kept one are dropped. */
  private readonly minGapMs: number;
  private readonly capacity: number;
  private readonly at: Float64Array;
  private readonly series = new Map<string, Series>();
  /** Slot the next reading goes to. */
  private next = 0;
  private count = 0;

  constructor(
    intervalMs: number,
    private readonly windowMs = HISTORY_MS,
    points = HISTORY_POINTS,
  ) {
    // Three quarters of a slot: polls that come a little early (timer jitter) are still kept.
    this.minGapMs = Math.max(intervalMs, windowMs / points) * 0.75;
    this.capacity = Math.ceil(windowMs / this.minGapMs) + 1;
    this.at = new Float64Array(this.capacity);
  }

  record(at: number, devices: readonly DeviceReading[]): void {
    const last = this.count > 0 ? this.at[(this.next + this.capacity - 1) % this.capacity]! : -Infinity;
    if (at - last < this.minGapMs) return;
    const i = this.next;
    this.next = (i + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    this.at[i] = at;
    // A device missing from this reading (a plugin gone) reads as no value here.
    for (const s of this.series.values()) {
      s.mem[i] = NaN;
      s.util[i] = NaN;
    }
    for (const device of devices) {
      let s = this.series.get(device.id);
      if (!s) this.series.set(device.id, (s = { mem: new Float32Array(this.capacity).fill(NaN), util: new Float32Array(this.capacity).fill(NaN) }));
      s.mem[i] = device.online && device.memory ? device.memory.usedMb : NaN;
      s.util[i] = device.online && device.utilizationPct !== null ? device.utilizationPct : NaN;
    }
  }

  /** Oldest first, only the window before the newest reading; devices with no value in it left out. */
  snapshot(): DevicesHistory {
    const order: number[] = [];
    const newest = this.count > 0 ? this.at[(this.next + this.capacity - 1) % this.capacity]! : 0;
    for (let k = this.count; k > 0; k--) {
      const i = (this.next + this.capacity - k) % this.capacity;
      if (newest - this.at[i]! <= this.windowMs) order.push(i);
    }
    // Float32 turns 33.3 into 33.29999…: back to what was read (whole MB, tenths of a percent).
    const value = (x: number, scale: number) => (Number.isNaN(x) ? null : Math.round(x * scale) / scale);
    const devices: DeviceSeries[] = [];
    for (const [id, s] of this.series) {
      const memUsedMb = order.map((i) => value(s.mem[i]!, 1));
      const utilPct = order.map((i) => value(s.util[i]!, 10));
      if (memUsedMb.every((v) => v === null) && utilPct.every((v) => v === null)) {
        // No value in the whole window (a card removed, a plugin uninstalled): forget it.
        this.series.delete(id);
        continue;
      }
      devices.push({ id, memUsedMb, utilPct });
    }
    return { at: order.map((i) => this.at[i]!), devices };
  }
}
