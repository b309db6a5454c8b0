// LLM_MANAGER_API_KEYS: API keys from the environment (a container's env_file, a systemd
// EnvironmentFile), accepted besides program.api_keys, so a key need not be written into a
// config file that is mounted, copied or committed. Read once at start; never written anywhere.

export const API_KEYS_ENV_VAR = 'LLM_MANAGER_API_KEYS';

/** The keys in LLM_MANAGER_API_KEYS (separated by commas or white space), or why they are refused. */
export function apiKeysFromEnv(env: NodeJS.ProcessEnv): { keys: string[]; problem: string | null } {
  const raw = env[API_KEYS_ENV_VAR];
  if (raw === undefined || raw.trim() === '') return { keys: [], problem: null };
  const keys = raw.split(/[\s,]+/).filter((k) => k !== '');
  // The config's own rule for a key (printable, no spaces), and its length advice made a rule: an env key has no editor to warn in.
  const bad = keys.findIndex((k) => !/^[\x21-\x7e]+$/.test(k) || k.length < 16);
  if (bad !== -1) {
    return { keys: [], problem: `${API_KEYS_ENV_VAR}: key ${bad + 1} is not a key of 16 or more printable characters (no spaces); generate one with: node -e "console.log(require('crypto').randomBytes(24).toString('base64url'))"` };
  }
  return { keys: [...new Set(keys)], problem: null };
}
