// Which launch profile a model starts with: the seam between the supervisor and the scheduler
// (scheduler/gpu-chooser.ts implements it; createNode's chooseProfile option replaces it).
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
