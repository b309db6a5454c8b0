// `llm-manager check-config [--fix] [--loopback] FILE`: what a seed config (LLM-Node, LLM-Manager)
// needs to run here, and with --fix the converted file. Exit 0: nothing to change; 1: changes
// listed, or problems left for a person; 2: bad usage.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkSeedConfigFile, writeSeedFix, type SeedReport } from '../migrate/seed-config.js';

export const CHECK_CONFIG_USAGE = `Usage: llm-manager check-config [--fix] [--loopback] FILE

Checks a config from LLM-Node or LLM-Manager (config.yaml, or LLM-Manager's config.json from
before 2.1) for what LLM Manager does differently, and says what to change and why:
  host 0.0.0.0 without api_keys → a new key (or 127.0.0.1 with --loopback);
  bat_path → script_path;  a .bat script on Linux → the .sh next to it (and back on Windows);
  Python device plugins → how to port them.

Options:
  --fix        write the changes (atomically; the file replaced is kept as FILE.bak;
               a JSON file is converted to a .yaml file beside it)
  --loopback   listen on 127.0.0.1 instead of adding a key to a 0.0.0.0 config
  -h, --help   show this help

Exit status: 0 nothing to change, 1 changes listed or problems left, 2 bad usage.`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  platform: NodeJS.Platform;
}

export function checkConfigCommand(argv: string[], io: CliIo): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { fix: { type: 'boolean' }, loopback: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${CHECK_CONFIG_USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(`${CHECK_CONFIG_USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err(`check-config needs one FILE\n\n${CHECK_CONFIG_USAGE}\n`);
    return 2;
  }
  const report = checkSeedConfigFile(parsed.positionals[0]!, { platform: io.platform, loopback: parsed.values.loopback === true });
  io.out(formatReport(report));
  if (report.changes.length === 0) return report.problems.length > 0 ? 1 : 0;
  if (!parsed.values.fix) {
    io.out(`Run again with --fix to write ${report.changes.length === 1 ? 'it' : 'them'}${report.target === report.file ? ` (the original is kept as ${path.basename(report.file)}.bak)` : ` to ${report.target}`}.\n`);
    return 1;
  }
  if (!report.loads) {
    io.err(`Not written: the converted file would not load (see the problems above).\n`);
    return 1;
  }
  try {
    writeSeedFix(report);
  } catch (err) {
    io.err(`Not written: ${(err as Error).message}\n`);
    return 1;
  }
  io.out(`Wrote ${report.target}${report.target === report.file ? ` (the original is kept as ${path.basename(report.file)}.bak)` : ''}.\n`);
  if (report.newKey) io.out(`New API key (clients send "Authorization: Bearer <key>"): ${report.newKey}\n`);
  if (report.problems.length > 0) io.out(`${report.problems.length === 1 ? 'One problem is' : `${report.problems.length} problems are`} left for you (above).\n`);
  return report.problems.length > 0 ? 1 : 0;
}

export function formatReport(report: SeedReport): string {
  const lines: string[] = [];
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (report.changes.length === 0 && report.problems.length === 0) {
    lines.push(`${report.file}: nothing to change.`);
  } else {
    lines.push(`${report.file}: ${count(report.changes.length, 'change')}, ${count(report.problems.length, 'problem')}`);
    for (const c of report.changes) lines.push(`  change   ${c.where}: ${c.message}`);
    for (const p of report.problems) lines.push(`  problem  ${p.where}: ${p.message}`);
  }
  for (const note of report.notes) lines.push(`  note     ${note}`);
  return `${lines.join('\n')}\n`;
}
