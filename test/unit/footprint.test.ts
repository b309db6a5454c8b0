// What the node loads at start decides much of its resident memory. Node 24 loads its bundled undici
// (fetch, WebSocket) and the web streams as soon as any ESM module imports node:http by value, so
// the core takes node:http through require() (src-main/core/node-http.ts). This guards that.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function internalModulesAfterImport(entry: string): string[] {
  const script = `await import(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(process.moduleLoadList));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as string[];
}

describe('start-up footprint', () => {
  it("loading the core node leaves Node's bundled undici and web streams unloaded", () => {
    const loaded = internalModulesAfterImport('./src-main/core/node.ts');
    expect(loaded.length).toBeGreaterThan(50); // the list is real
    expect(loaded.filter((m) => /internal\/deps\/undici|internal\/webstreams/.test(m))).toEqual([]);
  });
});
