// Whether a model runs on this computer: a hold (a game wants the VRAM) stops what does, and leaves
// models served by a peer node or by a server on another host, which use none of this computer.
import type { LaunchProfile } from '../../../src-shared/config.js';
import { isLoopbackHost } from '../security/host.js';
import type { RemoteRoute } from './remote.js';

/** A peer's model, or an upstream whose host is not this computer (Ollama on localhost is this computer's). */
export function profileElsewhere(profile: Pick<LaunchProfile, 'upstream'>): boolean {
  const spec = profile.upstream;
  if (!spec) return false;
  return spec.kind === 'peer' || !isLoopbackHost(hostOf(spec.baseUrl));
}

/** Served from elsewhere: through such a route now, or (not running) every profile it has is such. */
export function servedElsewhere(model: { readonly remote: RemoteRoute | null; readonly model: { readonly profiles: readonly Pick<LaunchProfile, 'upstream'>[] } }): boolean {
  if (model.remote !== null) return profileElsewhere({ upstream: model.remote.spec });
  return model.model.profiles.length > 0 && model.model.profiles.every(profileElsewhere);
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return 'localhost'; // unreadable: taken as this computer's (a hold stops it)
  }
}
