// Which launch profile a model starts with, and what has to happen first. A pure function of the
// config, the device readings and our engines' states, so it is tested table-driven.
//
// Profiles are walked in file order; the first that fits wins. A profile fits when each device it
// claims is online and has its memory_mb free: measured free memory, minus the headroom, minus
// what other starting engines were promised and don't use yet — plus what our idle engines hold,
// which we may stop (lowest priority first, then least recently used, as few as will do). Memory held
// by an engine that is answering a request is never taken: when only that would make room, the start
// waits. A running engine counts as the larger of what it declared and what it measurably holds (the
// declared rest is reserved: an engine that maps its weights lazily reads small until it is used).
// Engines with keep are never stopped to make room; models of one exclusive_group never run together:
// starting one stops the others, by the same rule (idle ones at once, busy ones when they finish).
import type { LaunchProfile, ModelConfig } from '../../../src-shared/config.js';
import type { DeviceReading, ModelState, ProfileSkip } from '../../../src-shared/contract.js';
import { assignments, memoryOf, profileClaims, type DeviceClaim } from './device-match.js';

export interface EngineView {
  name: string;
  state: ModelState;
  /** Requests in flight. */
  busy: number;
  /** End of the last request (or readiness), epoch ms: least recently used is stopped first. */
  lastActivityAt: number;
  /** MB this engine holds, per memory id (device id; "ram" for system memory). */
  heldMb: Readonly<Record<string, number>>;
  /** MB declared for this engine (its start's memory_mb) and not measured in use yet, per memory id. */
  reservedMb: Readonly<Record<string, number>>;
  /** keep: never stopped to make room. */
  keep?: boolean;
  /** Eviction order: lower is stopped first (default 0). */
  priority?: number;
  /** Its model's exclusive_group. */
  group?: string | null;
}

export interface PlacementInput {
  model: ModelConfig;
  devices: readonly DeviceReading[];
  /** Our other engines (not the model being placed). */
  engines: readonly EngineView[];
  headroomMb: number;
  monitoringDisabled: boolean;
  /** Why a profile's script/command can't be launched (null: it can). */
  launchProblem?: (profile: LaunchProfile) => string | null;
}

export interface DevicePick {
  claim: string;
  device: DeviceReading;
  /** Where its memory is counted ("ram" for a cpu claim). */
  memoryId: string;
  needMb: number;
}

export type Placement =
  /** Start now. `forced`: nothing fit, but GPU monitoring is disabled, so the first profile with its devices present runs. */
  | { kind: 'start'; profile: LaunchProfile; picks: DevicePick[]; skipped: ProfileSkip[]; forced: boolean; forcedReason?: string }
  /** Fits once these idle engines are stopped. */
  | { kind: 'evict'; profile: LaunchProfile; picks: DevicePick[]; victims: string[]; skipped: ProfileSkip[] }
  /** Fits only once these engines finish their requests (or their start): wait, then decide again. `skipped` has every profile's reason. */
  | { kind: 'wait'; profile: LaunchProfile; picks: DevicePick[]; blockers: string[]; skipped: ProfileSkip[] }
  | { kind: 'none'; skipped: ProfileSkip[] };

type Fit =
  | { tier: 0; picks: DevicePick[] }
  | { tier: 1; picks: DevicePick[]; victims: string[] }
  | { tier: 2; picks: DevicePick[]; blockers: string[]; reason: string }
  /** Devices present, memory short. */
  | { tier: 3; picks: DevicePick[]; reason: string }
  /** A device missing or offline. */
  | { tier: 4; reason: string };

export function planStart(input: PlacementInput): Placement {
  const group = input.model.exclusiveGroup;
  if (!group) return planProfiles(input);
  // Models of the same exclusive group go first, whatever the memory says.
  const mates = input.engines.filter((e) => e.name !== input.model.name && e.group === group && LIVE.has(e.state));
  const kept = mates.filter((e) => e.keep);
  if (kept.length > 0) {
    const reason = `${kept.map((e) => e.name).join(', ')} of exclusive_group "${group}" is running with keep: true`;
    return { kind: 'none', skipped: input.model.profiles.map((p) => ({ profile: p.name, reason })) };
  }
  const idle = mates.filter(isIdle);
  const pending = mates.filter((e) => !isIdle(e));
  // Their memory counts as free: they go either way.
  const rest = planProfiles({ ...input, devices: withFreed(input.devices, idle), engines: input.engines.filter((e) => !mates.includes(e)) });
  if (rest.kind === 'none') return rest;
  if (pending.length > 0) {
    const blockers = [...pending.map((e) => e.name), ...(rest.kind === 'wait' ? rest.blockers : [])];
    return { kind: 'wait', profile: rest.profile, picks: rest.picks, blockers: [...new Set(blockers)], skipped: rest.skipped };
  }
  if (idle.length === 0) return rest;
  if (rest.kind === 'wait') return { ...rest };
  const victims = [...idle.map((e) => e.name), ...(rest.kind === 'evict' ? rest.victims : [])];
  return { kind: 'evict', profile: rest.profile, picks: rest.picks, victims, skipped: rest.skipped };
}

const LIVE: ReadonlySet<ModelState> = new Set(['starting', 'ready', 'stopping']);
const isIdle = (e: EngineView) => e.state === 'ready' && e.busy === 0;

/** The readings as they will be once `gone` have stopped: what they measurably hold comes free. */
function withFreed(devices: readonly DeviceReading[], gone: readonly EngineView[]): DeviceReading[] {
  if (gone.length === 0) return [...devices];
  return devices.map((d) => {
    const freed = sum(gone.map((e) => e.heldMb[d.id] ?? 0));
    return freed > 0 && d.memory ? { ...d, memory: { ...d.memory, usedMb: d.memory.usedMb - freed, freeMb: d.memory.freeMb + freed } } : d;
  });
}

function planProfiles(input: PlacementInput): Placement {
  const skipped: ProfileSkip[] = [];
  const fits: { profile: LaunchProfile; fit: Fit }[] = [];
  for (const profile of input.model.profiles) {
    const problem = input.launchProblem?.(profile) ?? null;
    if (problem !== null) {
      skipped.push({ profile: profile.name, reason: problem });
      continue;
    }
    const fit = evaluate(profile, input);
    if (fit.tier === 0) return { kind: 'start', profile, picks: fit.picks, skipped, forced: false };
    if (fit.tier === 1 && !input.monitoringDisabled) return { kind: 'evict', profile, picks: fit.picks, victims: fit.victims, skipped };
    fits.push({ profile, fit });
    skipped.push({ profile: profile.name, reason: fit.tier === 1 ? 'needs other engines stopped' : fit.reason });
  }
  if (input.monitoringDisabled) {
    const present = fits.find((f) => f.fit.tier < 4);
    if (present && 'picks' in present.fit) {
      const at = skipped.findIndex((s) => s.profile === present.profile.name);
      return { kind: 'start', profile: present.profile, picks: present.fit.picks, skipped: skipped.slice(0, at), forced: true, forcedReason: skipped[at]!.reason };
    }
    return { kind: 'none', skipped };
  }
  const waiting = fits.find((f) => f.fit.tier === 2);
  if (waiting && waiting.fit.tier === 2) return { kind: 'wait', profile: waiting.profile, picks: waiting.fit.picks, blockers: waiting.fit.blockers, skipped };
  return { kind: 'none', skipped };
}

/** The best way to place one profile: over every assignment of devices, the lowest tier. */
function evaluate(profile: LaunchProfile, input: PlacementInput): Fit {
  const claims = profileClaims(profile);
  if (claims.length === 0) return { tier: 0, picks: [] };
  const options = assignments(claims, input.devices);
  if (options.length === 0) return { tier: 4, reason: missingReason(claims, input.devices) };
  let best: Fit | null = null;
  for (const devices of options) {
    const fit = evaluateAssignment(claims, devices, input);
    if (fit.tier === 0) return fit;
    if (!best || fit.tier < best.tier || (fit.tier === 1 && best.tier === 1 && fit.victims.length < best.victims.length)) best = fit;
  }
  return best!;
}

function evaluateAssignment(claims: readonly DeviceClaim[], devices: readonly DeviceReading[], input: PlacementInput): Fit {
  const offline = claims.map((c, i) => ({ c, d: devices[i]! })).filter(({ d }) => !d.online);
  if (offline.length > 0) {
    return { tier: 4, reason: offline.map(({ c, d }) => `${c.key} offline${d.offlineReason ? ` (${d.offlineReason})` : ''}`).join(' and ') };
  }
  const picks: DevicePick[] = claims.map((claim, i) => {
    const { id } = memoryOf(devices[i]!, input.devices);
    return { claim: claim.key, device: devices[i]!, memoryId: id, needMb: claim.needMb };
  });
  const others = input.engines.filter((e) => e.name !== input.model.name);
  const deficits: Record<string, number> = {};
  const shortfalls: { pick: DevicePick; availableMb: number }[] = [];
  const unknown: string[] = [];
  // Two claims may draw from one memory (cpu → RAM); add them up.
  const needs = new Map<string, { need: number; pick: DevicePick }>();
  for (const pick of picks) {
    if (pick.needMb <= 0) continue;
    const entry = needs.get(pick.memoryId);
    needs.set(pick.memoryId, { need: (entry?.need ?? 0) + pick.needMb, pick: entry?.pick ?? pick });
  }
  for (const [memoryId, { need, pick }] of needs) {
    const memory = memoryOf(pick.device, input.devices).memory;
    if (!memory) {
      unknown.push(`${pick.claim}: free memory unknown`);
      continue;
    }
    const reserved = sum(others.map((e) => e.reservedMb[memoryId] ?? 0));
    const available = memory.freeMb - input.headroomMb - reserved;
    if (available < need) {
      deficits[memoryId] = need - available;
      shortfalls.push({ pick: { ...pick, needMb: need }, availableMb: available });
    }
  }
  if (unknown.length > 0) return { tier: 3, picks, reason: unknown.join(' and ') };
  if (shortfalls.length === 0) return { tier: 0, picks };

  // Kept engines are never stopped to make room; they only count as held.
  const idle = others.filter((e) => isIdle(e) && !e.keep);
  const victims = chooseVictims(deficits, idle);
  if (victims) return { tier: 1, picks, victims };

  const idleHeld = (id: string) => sum(idle.map((e) => weight(e, id)));
  const describe = shortfalls.map(({ pick, availableMb }) => `${pick.claim} needs ${pick.needMb} MB, ${Math.max(0, Math.floor(availableMb + idleHeld(pick.memoryId)))} MB free`).join(' and ');
  // Engines we may not stop now but that will let go: answering requests, starting, stopping.
  const pending = others.filter((e) => !idle.includes(e) && !e.keep && e.state !== 'stopped' && e.state !== 'failed');
  const blockers = pending.filter((e) => Object.keys(deficits).some((id) => weight(e, id) > 0));
  const coverable = Object.entries(deficits).every(([id, deficit]) => idleHeld(id) + sum(blockers.map((e) => weight(e, id))) >= deficit);
  if (coverable && blockers.length > 0) {
    const held = blockers.map((e) => `${e.name} ${e.state === 'ready' ? 'is answering requests' : `is ${e.state}`}`).join(', ');
    return { tier: 2, picks, blockers: blockers.map((e) => e.name), reason: `${describe} (${held})` };
  }
  // Say when stopping a kept engine is what it would take.
  const kept = others.filter((e) => e.keep && LIVE.has(e.state) && Object.keys(deficits).some((id) => weight(e, id) > 0));
  const keptCovers =
    kept.length > 0 && Object.entries(deficits).every(([id, deficit]) => idleHeld(id) + sum(blockers.map((e) => weight(e, id))) + sum(kept.map((e) => weight(e, id))) >= deficit);
  if (keptCovers) return { tier: 3, picks, reason: `${describe}; it fits only if ${kept.map((e) => e.name).join(', ')} stopped, which ${kept.length > 1 ? 'have' : 'has'} keep: true` };
  return { tier: 3, picks, reason: describe };
}

/** What stopping an engine gives back on one memory: what it holds and what is reserved for it. */
function weight(e: Pick<EngineView, 'heldMb'> & Partial<Pick<EngineView, 'reservedMb'>>, id: string): number {
  return (e.heldMb[id] ?? 0) + (e.reservedMb?.[id] ?? 0);
}

type Candidate = Pick<EngineView, 'name' | 'lastActivityAt' | 'heldMb'> & Partial<Pick<EngineView, 'reservedMb' | 'priority'>>;

/**
 * The idle engines to stop so their memory covers every deficit: those of the lowest priorities
 * that will do (an engine of a higher priority only when the lower ones are not enough), the fewest
 * of them, and among sets of one size the least recently used. Null when even all are not enough.
 */
export function chooseVictims(deficits: Readonly<Record<string, number>>, idle: readonly Candidate[]): string[] | null {
  const ids = Object.keys(deficits).filter((id) => deficits[id]! > 0);
  if (ids.length === 0) return [];
  const useful = idle
    .filter((e) => ids.some((id) => weight(e, id) > 0))
    .sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0) || a.lastActivityAt - b.lastActivityAt || a.name.localeCompare(b.name));
  const covers = (set: readonly Candidate[]) => ids.every((id) => sum(set.map((e) => weight(e, id))) >= deficits[id]!);
  if (!covers(useful)) return null;
  for (const level of [...new Set(useful.map((e) => e.priority ?? 0))]) {
    const allowed = useful.filter((e) => (e.priority ?? 0) <= level);
    if (covers(allowed)) return smallestCover(allowed, covers);
  }
  return null;
}

function smallestCover(useful: readonly Candidate[], covers: (set: readonly Candidate[]) => boolean): string[] | null {
  if (useful.length > 16) {
    // Too many for an exhaustive search: least recently used first, then drop what isn't needed.
    const set = [...useful];
    for (let i = set.length - 1; i >= 0; i--) {
      const without = set.filter((_, j) => j !== i);
      if (covers(without)) set.splice(i, 1);
    }
    return set.map((e) => e.name);
  }
  for (let size = 1; size <= useful.length; size++) {
    const found = firstCombination(useful, size, covers);
    if (found) return found.map((e) => e.name);
  }
  return null;
}

/** Combinations in lexicographic order (earlier = less recently used first). */
function firstCombination<T>(items: readonly T[], size: number, accept: (set: T[]) => boolean): T[] | null {
  const pick: T[] = [];
  const walk = (start: number): T[] | null => {
    if (pick.length === size) return accept(pick) ? [...pick] : null;
    for (let i = start; i <= items.length - (size - pick.length); i++) {
      pick.push(items[i]!);
      const found = walk(i + 1);
      pick.pop();
      if (found) return found;
    }
    return null;
  };
  return walk(0);
}

function missingReason(claims: readonly DeviceClaim[], devices: readonly DeviceReading[]): string {
  const placeholder = devices.find((d) => d.id === 'nvidia' && !d.online);
  const why = placeholder?.offlineReason ? ` (${placeholder.name} offline: ${placeholder.offlineReason})` : '';
  const unmatched = claims.filter((c) => assignments([c], devices).length === 0);
  if (unmatched.length > 0) return `${unmatched.map((c) => `no device matches "${c.key}"`).join(' and ')}${why}`;
  return `${claims.map((c) => c.key).join(' + ')} each need a device of their own; not enough devices match`;
}

/** CUDA_VISIBLE_DEVICES for the NVIDIA cards picked (nvidia-smi numbering), unless the profile sets it. */
export function cudaEnv(profile: LaunchProfile, picks: readonly DevicePick[]): Record<string, string> {
  if ('CUDA_VISIBLE_DEVICES' in profile.env) return {};
  const indices = picks.filter((p) => p.device.vendor === 'nvidia' && p.device.index !== null).map((p) => p.device.index!);
  if (indices.length === 0) return {};
  // nvidia-smi numbers cards by PCI bus; CUDA by default fastest first. Make CUDA count like nvidia-smi.
  const env: Record<string, string> = { CUDA_VISIBLE_DEVICES: indices.join(',') };
  if (!('CUDA_DEVICE_ORDER' in profile.env)) env['CUDA_DEVICE_ORDER'] = 'PCI_BUS_ID';
  return env;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
