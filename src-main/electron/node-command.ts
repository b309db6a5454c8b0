// The example config's demo engines run `node scripts/demo-engine.mjs`, and most users have no
// Node installed. The app's own executable is a Node when started with ELECTRON_RUN_AS_NODE=1, so
// a bare `node` that is not on PATH is launched with it instead. Pure: the lookup is passed in.
import type { LaunchProfile } from '../../src-shared/config.js';

export interface NodeFallbackHost {
  /** The running app's executable (process.execPath). */
  execPath: string;
  /** Whether a command name is found on PATH (findExecutable from the core). */
  hasCommand: (command: string) => boolean;
}

const BARE_NODE = /^node(\.exe)?$/i;

/** The profile as this host launches it: unchanged, unless its command is a bare `node` that PATH lacks. */
export function withElectronAsNode(profile: LaunchProfile, host: NodeFallbackHost): LaunchProfile {
  const command = profile.command;
  if (command === null || !BARE_NODE.test(command) || host.hasCommand(command)) return profile;
  return { ...profile, command: host.execPath, env: { ...profile.env, ELECTRON_RUN_AS_NODE: '1' } };
}
