// The desktop app's side of `llm-manager check-config`: when it starts on a config from LLM-Node or
// LLM-Manager that needs changes (0.0.0.0 without keys, bat_path, a .bat on Linux), it offers to
// make them, with what changes and why, keeping the original as config.yaml.bak. No Electron here:
// main.ts shows the dialog.
import path from 'node:path';
import { checkSeedConfigFile, writeSeedFix } from '../core/migrate/seed-config.js';

export interface SeedOffer {
  message: string;
  /** One line per change, and what is left for the user. */
  detail: string;
  /** Makes the changes; returns what to tell the user when it couldn't. */
  fix(): { ok: true } | { ok: false; message: string };
}

/**
 * What check-config --fix would change in `configPath`, as an offer; null when nothing (or nothing
 * it may change: a text the node couldn't load after the changes is never written). A desktop app
 * is for this computer, so a 0.0.0.0 config without keys gets host 127.0.0.1, not a new key.
 */
export function seedFixOffer(configPath: string, platform: NodeJS.Platform): SeedOffer | null {
  const report = checkSeedConfigFile(configPath, { platform, loopback: true });
  if (report.changes.length === 0 || !report.loads || report.target !== report.file) return null;
  const name = path.basename(configPath);
  const lines = report.changes.map((c) => `• ${c.where}: ${c.message}`);
  if (report.problems.length > 0) lines.push('', 'Left for you:', ...report.problems.map((p) => `• ${p.where}: ${p.message}`));
  lines.push('', `The original is kept as ${name}.bak. To serve other machines instead, add a key: llm-manager check-config --fix ${configPath}`);
  return {
    message: `${name} comes from LLM-Node or LLM-Manager: ${report.changes.length === 1 ? 'one thing needs' : `${report.changes.length} things need`} changing to run here`,
    detail: lines.join('\n'),
    fix() {
      try {
        writeSeedFix(report);
        return { ok: true };
      } catch (err) {
        return { ok: false, message: (err as Error).message };
      }
    },
  };
}
