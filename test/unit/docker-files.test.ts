// The Docker image can't be built on these machines, so its files are checked for what a build and
// a run depend on: the stages, a non-root user, the HEALTHCHECK (run here against a real node),
// `serve` as the entry, the volumes, every path COPY takes from the repo (there, and not ignored),
// the image's config (0.0.0.0 only with a key), and compose.yaml's GPU reservation and env_file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src-shared/config.js';
import { bindProblem } from '../../src-main/core/security/host.js';
import { closeAllNodes, startNode } from '../helpers/node-fixture.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => fs.readFileSync(path.join(REPO, file), 'utf8');

afterEach(closeAllNodes);

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions (continuation lines joined, comments and directives dropped), per stage. */
function stages(text: string): { from: string; name: string | null; instructions: Instruction[] }[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const out: { from: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      out.push({ from: from![1]!, name: from![2] ?? null, instructions: [] });
    } else {
      out.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return out;
}

/** The exec form of CMD / ENTRYPOINT / HEALTHCHECK CMD as a list. */
function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

function ignored(patterns: string[], file: string): boolean {
  const parts = file.split('/');
  return patterns.some((pattern) => {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return parts.some((_, i) => re.test(parts.slice(0, i + 1).join('/')));
  });
}

describe('Dockerfile', () => {
  const dockerfile = stages(read('Dockerfile'));
  const build = dockerfile.find((s) => s.name === 'build')!;
  const runtime = dockerfile.at(-1)!;
  const all = (stage: typeof runtime, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

  it('builds in one stage (npm ci, tsc, vite) and runs in a small one, without the dev dependencies', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(runtime).not.toBe(build);
    expect(runtime.from).toMatch(/^node:24-(slim|alpine)/);
    const buildRuns = all(build, 'RUN').map((i) => i.args).join('\n');
    expect(buildRuns).toContain('npm ci');
    expect(buildRuns).toContain('npm run build:node');
    expect(buildRuns).toContain('npm run build:renderer');
    expect(buildRuns).toContain('npm prune --omit=dev');
    // What the runtime copies from the build stage is what those scripts produce.
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['build:node']).toBe('tsc -p tsconfig.node.json');
    expect((JSON.parse(read('tsconfig.node.json')) as { compilerOptions: { outDir: string } }).compilerOptions.outDir).toBe('dist/node');
    expect(read('src-renderer/vite.config.ts')).toContain("'../dist/renderer'");
    const fromBuild = all(runtime, 'COPY').filter((c) => c.args.startsWith('--from=build')).map((c) => c.args.split(/\s+/)[1]);
    expect(fromBuild).toEqual(['/src/package.json', '/src/node_modules', '/src/dist/node', '/src/dist/renderer']);
    expect(all(build, 'WORKDIR').map((w) => w.args)).toEqual(['/src']);
  });

  it('every path COPY takes from the repo exists and is not left out by .dockerignore', () => {
    const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const sources = dockerfile.flatMap((s) => all(s, 'COPY').filter((c) => !c.args.startsWith('--from'))).flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(fs.existsSync(path.join(REPO, source)), source).toBe(true);
      expect(ignored(patterns, source), `${source} is in .dockerignore`).toBe(false);
    }
    // What the build reads: everything tsconfig.node.json includes, and the renderer.
    for (const needed of ['package-lock.json', 'tsconfig.base.json', 'tsconfig.node.json', 'src-shared', 'src-main', 'src-renderer']) expect(sources, needed).toContain(needed);
    // And no secrets or local state go into the build context.
    for (const secret of ['config.yaml', 'llm-manager.env', 'node_modules/x', 'logs/a.log', '.git/HEAD']) expect(ignored(patterns, secret), secret).toBe(true);
  });

  it('runs as a non-root user, `serve` on 0.0.0.0:8080 with the config and logs as volumes', () => {
    const user = all(runtime, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    const entry = [...execForm(all(runtime, 'ENTRYPOINT').at(-1)!.args), ...execForm(all(runtime, 'CMD').at(-1)!.args)];
    expect(entry.slice(0, 3)).toEqual(['node', '/app/bin/llm-manager.js', 'serve']);
    expect(entry.join(' ')).toContain('--config /config/config.yaml');
    expect(entry.join(' ')).toContain('--host 0.0.0.0 --port 8080');
    expect(all(runtime, 'VOLUME').map((v) => JSON.parse(v.args) as string[]).flat()).toEqual(['/config', '/logs']);
    expect(all(runtime, 'EXPOSE').map((e) => e.args)).toEqual(['8080']);
    // The image's example is the one a first start copies into /config.
    expect(all(runtime, 'COPY').map((c) => c.args)).toContain('docker/config.yaml ./config.example.yaml');
  });

  it("HEALTHCHECK asks /health with node itself (no curl in the image): 0 for a node that serves, 1 for none", async () => {
    const check = all(runtime, 'HEALTHCHECK').at(-1)!.args;
    expect(check).toMatch(/--interval=\S+/);
    const command = execForm(check);
    expect(command[0]).toBe('node');
    expect(command.join(' ')).not.toMatch(/curl|wget/);
    expect(command.join(' ')).toContain('http://127.0.0.1:8080/health');
    const fx = await startNode({ models: [{ name: 'a' }], program: { api_keys: ['docker-test-key-0123456789'] } });
    // (Not spawnSync: the node under test runs in this process and must keep answering.)
    const runCheck = (url: string) =>
      new Promise<number | null>((resolve) => spawn(process.execPath, command.slice(1).map((a) => a.replace('http://127.0.0.1:8080', url)), { stdio: 'ignore' }).once('exit', resolve));
    expect(await runCheck(fx.url)).toBe(0);
    await fx.close();
    expect(await runCheck(fx.url)).toBe(1);
  });

  it("the image's config listens on 0.0.0.0 only with a key, and logs to the /logs volume", () => {
    const parsed = parseConfigText(read('docker/config.yaml'));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const program = parsed.config.program;
    expect(program.host).toBe('0.0.0.0');
    expect(program.logDir).toBe('/logs');
    expect(bindProblem(program.host, program, '/config/config.yaml')).toContain('LLM_MANAGER_API_KEYS');
    expect(bindProblem(program.host, { ...program, apiKeys: ['from-the-env-file-0123456789'] }, '/config/config.yaml')).toBeNull();
    expect(parsed.config.models.map((m) => m.name)).toEqual(['demo']);
  });
});

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as { services: Record<string, Record<string, any>>; volumes?: Record<string, unknown> };
  const [name, service] = Object.entries(compose.services)[0]!;

  it('builds the Dockerfile, reserves the NVIDIA GPUs, and takes the keys from an env file', () => {
    expect(name).toBe('llm-manager');
    expect(service['build']).toBe('.');
    const devices = service['deploy']?.resources?.reservations?.devices as { driver: string; count: unknown; capabilities: string[] }[];
    expect(devices).toEqual([{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }]);
    expect(service['env_file']).toEqual(['llm-manager.env']);
    expect(read('docker/llm-manager.env.example')).toMatch(/^LLM_MANAGER_API_KEYS=$/m);
    expect(read('.gitignore')).toMatch(/^\/llm-manager\.env$/m);
    expect(service['ports']).toEqual(['8080:8080']);
    expect(service['volumes']).toEqual(['config:/config', 'logs:/logs']);
    expect(Object.keys(compose.volumes ?? {})).toEqual(['config', 'logs']);
    expect(service['restart']).toBe('unless-stopped');
  });

  it('the README says how to build and run it, and check it', () => {
    const readme = read('README.md');
    expect(readme).toContain('docker compose up');
    expect(readme).toContain('llm-manager.env');
    expect(readme).toContain('/health');
  });
});
