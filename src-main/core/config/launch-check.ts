// What the node can know about a config before any start, and the parser (pure, shared with the
// window) can't: whether each launch profile's script or command and cwd are there and runnable,
// and whether its devices are present. Issues come back located like the parser's own
// (file:line:col), as warnings: files and devices come and go, and a start checks them again.
import type { AppConfig, ConfigIssue, ConfigSpans, LaunchProfile } from '../../../src-shared/config.js';
import { issueAt } from '../../../src-shared/config.js';
import type { DeviceReading } from '../../../src-shared/contract.js';
import { launchIssue } from '../models/process.js';
import { assignments, matchesDevice, normalize, profileClaims } from '../scheduler/device-match.js';

export interface LaunchCheckOptions {
  /** The devices present now; null when not known (GPU monitoring disabled, no reading): device names aren't checked. */
  devices: readonly DeviceReading[] | null;
  /** How this host launches a profile (the desktop app runs a bare `node` with its own binary). */
  adaptProfile?: (profile: LaunchProfile) => LaunchProfile;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
}

export interface LaunchCheck {
  /** Warnings, in text order. */
  issues: ConfigIssue[];
  /** Models none of whose profiles can start now, with why, as part of a sentence ("its command /x does not exist"). */
  cannotStart: Record<string, string>;
}

/** `config` with its paths resolved (as loaded); `spans` from the same text's parse. */
export function checkLaunch(config: AppConfig, spans: ConfigSpans, options: LaunchCheckOptions): LaunchCheck {
  const issues: ConfigIssue[] = [];
  const cannotStart: Record<string, string> = {};
  const adapt = options.adaptProfile ?? ((p: LaunchProfile) => p);
  for (const model of config.models) {
    const problems = model.profiles.map((profile) => {
      const base = ['Local-Models', model.name, profile.name];
      const launch = launchIssue(adapt(profile), options.platform, options.env);
      if (launch) return { profile, path: [...base, launch.field], message: launch.message, plain: launch.plain };
      const device = options.devices ? deviceIssue(profile, options.devices) : null;
      if (device) return { profile, path: [...base, ...device.at], message: device.message, plain: device.plain };
      return null;
    });
    const runnable = model.profiles.filter((_p, i) => problems[i] === null).map((p) => p.name);
    for (const problem of problems) {
      if (!problem) continue;
      const outcome =
        runnable.length > 0 ? `this profile is skipped; ${runnable.join(', ')} can still start ${model.name}`
        : model.profiles.length === 1 ? `${model.name} can't start`
        : `${model.name} can't start: no other profile can either`;
      issues.push(issueAt(spans, problem.path, 'warning', `${problem.message} — ${outcome}`));
    }
    const first = problems.find((p) => p !== null);
    if (runnable.length === 0 && first) cannotStart[model.name] = first.plain;
  }
  return { issues: issues.sort((a, b) => a.from - b.from), cannotStart };
}

/** The first device claim of a profile that no device present can take, located at its key. */
function deviceIssue(profile: LaunchProfile, devices: readonly DeviceReading[]): { at: (string | number)[]; message: string; plain: string } | null {
  const claims = profileClaims(profile);
  if (claims.length === 0) return null;
  const present = describeDevices(devices);
  for (const claim of claims) {
    if (devices.some((d) => matchesDevice(claim.key, d))) continue;
    const index = profile.requiredDevices.findIndex((key) => normalize(key) === normalize(claim.key));
    const memoryKey = Object.keys(profile.memoryMb).find((key) => normalize(key) === normalize(claim.key));
    const at = index >= 0 ? ['required_devices', index] : ['memory_mb', memoryKey ?? claim.key];
    return { at, message: `no device here matches "${claim.key}" (${present})`, plain: `no device here matches "${claim.key}"` };
  }
  if (assignments(claims, devices, 1).length === 0) {
    const keys = claims.map((c) => `"${c.key}"`).join(' + ');
    return { at: [], message: `needs a device of its own for each of ${keys}; not enough devices match (${present})`, plain: `not enough devices match ${keys}` };
  }
  return null;
}

function describeDevices(devices: readonly DeviceReading[]): string {
  const gpus = devices.filter((d) => d.kind === 'gpu' && d.id !== 'nvidia');
  // nvidia-smi missing or failing: the monitor shows a placeholder with the reason.
  const placeholder = devices.find((d) => d.id === 'nvidia' && !d.online);
  const listed = gpus.map((d) => `${d.id}: ${d.name}${d.online ? '' : ', offline'}`);
  const why = placeholder?.offlineReason ? `; ${placeholder.name}: ${placeholder.offlineReason}` : '';
  return listed.length > 0 ? `GPUs here: ${listed.join(', ')}${why}` : `no GPU found${why}`;
}
