// The desktop app starting on an LLM-Node / LLM-Manager config: what it offers to change (the
// same as check-config, but 127.0.0.1 rather than a new key), and the change itself.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src-shared/config.js';
import { seedFixOffer } from '../../src-main/electron/seed-offer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function write(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-offer-'));
  dirs.push(dir);
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, text);
  return file;
}

const SEED = `program:
  host: "0.0.0.0"   # LLM-Node's default
  port: 8080
Local-Models:
  qwen:
    port: 10001
    Standard-Config:
      required_devices: []
      bat_path: "scripts/run.bat"
`;

describe('seedFixOffer', () => {
  it('offers to listen on this computer only and to rename bat_path, saying why, and what is left', () => {
    const file = write(SEED);
    const offer = seedFixOffer(file, 'linux');
    expect(offer).not.toBeNull();
    expect(offer!.message).toBe('config.yaml comes from LLM-Node or LLM-Manager: 2 things need changing to run here');
    expect(offer!.detail).toContain('• program.host: "0.0.0.0" → "127.0.0.1"');
    expect(offer!.detail).toContain('• Local-Models.qwen.Standard-Config.bat_path: bat_path → script_path');
    expect(offer!.detail).toContain('Left for you:\n• Local-Models.qwen.Standard-Config.script_path: scripts/run.bat is a Windows script');
    expect(offer!.detail).toContain(`llm-manager check-config --fix ${file}`);
    // Nothing changes until the user says so.
    expect(fs.readFileSync(file, 'utf8')).toBe(SEED);

    expect(offer!.fix()).toEqual({ ok: true });
    expect(fs.readFileSync(`${file}.bak`, 'utf8')).toBe(SEED);
    const fixed = fs.readFileSync(file, 'utf8');
    expect(fixed).toContain(`host: "127.0.0.1" # LLM-Node's default`);
    const parsed = parseConfigText(fixed);
    expect(parsed.ok && parsed.config.program.apiKeys).toEqual([]);
    // Asked again at the next start: nothing more it can change.
    expect(seedFixOffer(file, 'linux')).toBeNull();
  });

  it('offers nothing for a config that needs no change, or one it can not read', () => {
    expect(seedFixOffer(write('program:\n  host: "127.0.0.1"\nLocal-Models: {}\n'), 'linux')).toBeNull();
    expect(seedFixOffer(write('program: [broken\n'), 'linux')).toBeNull();
    expect(seedFixOffer(path.join(os.tmpdir(), 'no-such-dir-llm', 'config.yaml'), 'linux')).toBeNull();
  });

  it('says when the change could not be written, leaving the file as it was', () => {
    const file = write(SEED);
    const offer = seedFixOffer(file, 'linux')!;
    fs.chmodSync(file, 0o444);
    const result = offer.fix();
    if (process.getuid?.() !== 0) {
      expect(result.ok).toBe(false);
      expect(fs.readFileSync(file, 'utf8')).toBe(SEED);
    }
  });
});
