// A private https upstream (a server whose certificate comes from the user's own CA): the node
// trusts the CA given in NODE_EXTRA_CA_CERTS, both for its readiness check (fetch) and for the
// requests it proxies (undici's pools), as docs/upstreams.md says. A real `serve` process, since
// Node reads that variable only at its start.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, postJson, readJson, waitFor } from '../helpers/http.js';
import { freePorts } from '../helpers/ports.js';
import { FakeUpstream } from '../fixtures/fake-upstream.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = ['--import', 'tsx', path.join(REPO, 'src-main', 'cli.ts')];
const CA = path.join(REPO, 'test', 'fixtures', 'tls', 'localhost-cert.pem');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(upstreamUrl: string, env: NodeJS.ProcessEnv): Promise<{ url: string; output: () => string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-extra-ca-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [port] = await freePorts(1);
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    file,
    `program:\n  port: ${port}\n  Disable_GPU_monitoring: true\nLocal-Models:\n  private:\n    mode: Chat\n    Box:\n      upstream:\n        base_url: ${upstreamUrl}\n        model: served-name\n`,
  );
  const proc: ChildProcess = spawn(process.execPath, [...CLI, 'serve', '--config', file], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await new Promise((resolve) => proc.once('exit', resolve));
    }
  });
  await waitFor(() => output.includes('Press Ctrl+C to stop') || proc.exitCode !== null, 30_000, 'the banner');
  expect(proc.exitCode, output).toBeNull();
  return { url: `http://127.0.0.1:${port}`, output: () => output };
}

describe('an https upstream with a certificate of a private CA', () => {
  it('is trusted with NODE_EXTRA_CA_CERTS naming the CA: checked ready, and a plain and a streamed request go through', async () => {
    const upstream = await new FakeUpstream({ tls: true, words: ['private', ' and', ' trusted'] }).start();
    cleanups.push(() => upstream.stop());
    const node = await serve(upstream.baseUrl, { NODE_EXTRA_CA_CERTS: CA });
    const res = await postJson(`${node.url}/v1/chat/completions`, chat('private'));
    const body = await readJson(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.choices[0].message.content).toBe('private and trusted');
    const streamed = await postJson(`${node.url}/v1/chat/completions`, chat('private', { stream: true }));
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain('data: [DONE]');
    expect(upstream.requests('/v1/chat/completions').map((r) => (r.body as { model: string }).model)).toEqual(['served-name', 'served-name']);
  });

  it('without it, the model fails with the TLS reason in an OpenAI-shaped 503', async () => {
    const upstream = await new FakeUpstream({ tls: true }).start();
    cleanups.push(() => upstream.stop());
    const node = await serve(upstream.baseUrl, { NODE_EXTRA_CA_CERTS: '' });
    const res = await postJson(`${node.url}/v1/chat/completions`, chat('private'));
    const body = await readJson(res);
    expect(res.status).toBe(503);
    expect(body.error.message).toMatch(/not reachable: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
  });
});
