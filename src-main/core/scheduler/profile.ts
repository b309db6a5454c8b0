// Which launch profile a model starts with. The GPU-aware chooser replaces `firstLaunchable`
// through the same ProfileChooser seam.
import type { LaunchProfile, ModelConfig } from '../../../src-shared/config.js';
import type { ProfileSkip } from '../../../src-shared/contract.js';

export interface ProfileChoice {
  profile: LaunchProfile;
  skipped: ProfileSkip[];
  /** Extra environment for the engine (e.g. CUDA_VISIBLE_DEVICES). */
  env: Record<string, string>;
}

export class NoProfileError extends Error {
  constructor(
    readonly model: string,
    readonly skipped: ProfileSkip[],
  ) {
    super(`no launch profile of ${model} can start: ${skipped.map((s) => `${s.profile}: ${s.reason}`).join('; ')}`);
    this.name = 'NoProfileError';
  }
}

export type ProfileChooser = (model: ModelConfig) => Promise<ProfileChoice>;

/** The first profile whose script or command exists (`problem` returns why one can't launch). */
export function firstLaunchable(problem: (profile: LaunchProfile) => string | null): ProfileChooser {
  return async (model) => {
    const skipped: ProfileSkip[] = [];
    for (const profile of model.profiles) {
      const reason = problem(profile);
      if (reason === null) return { profile, skipped, env: {} };
      skipped.push({ profile: profile.name, reason });
    }
    throw new NoProfileError(model.name, skipped);
  };
}
