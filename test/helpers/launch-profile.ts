import type { LaunchProfile } from '../../src-shared/config.js';

/** A launch profile with nothing set, and `over` on top. */
export const profile = (over: Partial<LaunchProfile>): LaunchProfile => ({
  name: 'P',
  requiredDevices: [],
  scriptPath: null,
  command: null,
  args: [],
  cwd: null,
  env: {},
  memoryMb: {},
  ...over,
});
