// Which addresses and Host headers count as "this computer", for the bind check at startup and
// the DNS-rebinding guard on every request. Pure string work: no lookups, no allocation-heavy parsing.
import { isIP } from 'node:net';

/** True for names and addresses that only this computer can reach: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h.startsWith('::ffff:')) h = h.slice(7);
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** A peer address (req.socket.remoteAddress) on this computer. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '127.0.0.1' || address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/**
 * Why the node must not listen on `host` with these settings, or null when it may. A non-loopback
 * address without api_keys lets anyone on the network start engines and read their logs.
 */
export function bindProblem(host: string, program: { apiKeys: readonly string[]; allowInsecureLan: boolean }, configPath: string): string | null {
  if (isLoopbackHost(host) || program.apiKeys.length > 0 || program.allowInsecureLan) return null;
  return [
    `refusing to listen on ${host}: that address is reachable from other machines, and no API key is set, so anyone on the network could use your models, start and stop engines and read their logs.`,
    `To fix it, either:`,
    `  - add keys to ${configPath}:  program: { api_keys: ["<a long random string>"] }  (clients then send "Authorization: Bearer <key>"; generate one with: node -e "console.log(require('crypto').randomBytes(24).toString('base64url'))")`,
    `    (or in the environment: LLM_MANAGER_API_KEYS=<key>, e.g. from a container's env_file)`,
    `  - or listen on this computer only: program.host "127.0.0.1" (or --host 127.0.0.1)`,
    `  - or, on a network where everyone may use and control it, set program.allow_insecure_lan: true`,
  ].join('\n');
}

/** The host name of a Host header value ("Example.com:8080" → "example.com", "[::1]:80" → "[::1]"). */
export function hostNameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end === -1 ? value : value.slice(0, end + 1);
  }
  const colon = value.indexOf(':');
  const name = colon === -1 ? value : value.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * Whether a Host header names this node. DNS rebinding makes a browser send the attacker's own name
 * (evil.example:8080) to our address, so only names that can't be rebound pass: localhost (and
 * *.localhost, which browsers resolve themselves), loopback addresses, the configured names and,
 * when the node listens beyond loopback, any IP address (a literal address is never rebound).
 */
export function isAllowedHost(hostHeader: string, allowed: { names: ReadonlySet<string>; suffixes: readonly string[]; anyIp: boolean }): boolean {
  const name = hostNameOf(hostHeader);
  if (name === 'localhost' || name === '127.0.0.1' || name === '[::1]') return true;
  if (allowed.names.has(name)) return true;
  for (const suffix of allowed.suffixes) if (name.endsWith(suffix)) return true;
  if (name.endsWith('.localhost')) return true;
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  const ip = isIP(bare);
  if (ip === 4 && bare.startsWith('127.')) return true;
  return ip !== 0 && allowed.anyIp;
}
