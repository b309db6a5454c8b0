// How the keys of required_devices and memory_mb find devices. Pure.
//   "rtx 4060" — part of a GPU's name, case-insensitive ("NVIDIA GeForce RTX 4060 Laptop GPU")
//   "gpu0"     — the NVIDIA GPU with that index (nvidia-smi's numbering)
//   "cpu"      — the processor; its memory_mb is checked against system RAM
//   an exact device id ("plugin:rocm:0") — a plugin device
// Each entry of required_devices claims one device, and a device is claimed at most once per
// profile: ["v100", "v100"] needs two V100s.
import type { LaunchProfile } from '../../../src-shared/config.js';
import type { DeviceMemory, DeviceReading } from '../../../src-shared/contract.js';

export interface DeviceClaim {
  /** The key as written in the config. */
  key: string;
  needMb: number;
}

/** The devices a profile claims: its required_devices, then memory_mb keys not among them. */
export function profileClaims(profile: LaunchProfile): DeviceClaim[] {
  const need = new Map<string, number>();
  const memoryKeys: string[] = [];
  for (const [key, mb] of Object.entries(profile.memoryMb)) {
    const k = normalize(key);
    if (k === '') continue;
    if (!need.has(k)) memoryKeys.push(key.trim());
    need.set(k, mb);
  }
  const required = profile.requiredDevices.map((key) => key.trim()).filter((key) => key !== '');
  const requiredSet = new Set(required.map(normalize));
  return [
    ...required.map((key) => ({ key, needMb: need.get(normalize(key)) ?? 0 })),
    ...memoryKeys.filter((key) => !requiredSet.has(normalize(key))).map((key) => ({ key, needMb: need.get(normalize(key)) ?? 0 })),
  ];
}

export function matchesDevice(key: string, device: DeviceReading): boolean {
  const k = normalize(key);
  if (k === device.id.toLowerCase()) return true;
  if (k === 'cpu') return device.kind === 'cpu';
  if (/^gpu\d+$/.test(k)) return false; // an index only matches that exact id
  // Names are matched on GPUs only: "amd" must not pick an "AMD Ryzen" CPU.
  return device.kind === 'gpu' && device.name.toLowerCase().includes(k);
}

/** Memory a claim on this device draws from: the device's own, or system RAM for the CPU. */
export function memoryOf(device: DeviceReading, devices: readonly DeviceReading[]): { id: string; memory: DeviceMemory | null } {
  if (device.kind === 'cpu') {
    const ram = devices.find((d) => d.kind === 'ram');
    return { id: ram?.id ?? 'ram', memory: ram?.online ? ram.memory : null };
  }
  return { id: device.id, memory: device.memory };
}

/**
 * Every way to give each claim its own matching device, in device order (at most `limit`).
 * Empty when some claim matches nothing or there are too few distinct devices.
 */
export function assignments(claims: readonly DeviceClaim[], devices: readonly DeviceReading[], limit = 5000): DeviceReading[][] {
  const candidates = claims.map((claim) => devices.filter((d) => matchesDevice(claim.key, d)));
  const out: DeviceReading[][] = [];
  const chosen: DeviceReading[] = [];
  const used = new Set<string>();
  const walk = (i: number) => {
    if (out.length >= limit) return;
    if (i === claims.length) {
      out.push([...chosen]);
      return;
    }
    for (const device of candidates[i]!) {
      if (used.has(device.id)) continue;
      used.add(device.id);
      chosen.push(device);
      walk(i + 1);
      chosen.pop();
      used.delete(device.id);
    }
  };
  walk(0);
  return out;
}

export function normalize(key: string): string {
  return key.trim().toLowerCase();
}
