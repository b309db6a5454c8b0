// Downloads against a local fake hub (test/fixtures/fake-hub.ts), which answers as the real one
// does: resolve → 302 to a CDN with the SHA-256 in X-Linked-Etag. Progress, resume after a dropped
// connection (HTTP Range), a wrong checksum, cancel, a full disk (a write seam that fails with
// ENOSPC), the token sent to the hub only, file names that would leave the models folder.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DownloadInfo } from '../../src-shared/contract.js';
import { ApiError } from '../../src-shared/errors.js';
import { Downloads, type DownloadsOptions, type PartFile } from '../../src-main/core/library/downloads.js';
import { startFakeHub, type FakeHub } from '../fixtures/fake-hub.js';
import { waitFor } from '../helpers/http.js';

const REPO = 'acme/tiny-GGUF';
const FILE = 'tiny-q4_k_m.gguf';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  hub: FakeHub;
  dir: string;
  downloads: Downloads;
  events: DownloadInfo[];
  completed: string[];
  /** The last event of a download, once it has ended. */
  ended(id: string): Promise<DownloadInfo>;
}

async function setup(options: Partial<DownloadsOptions> & { token?: string } = {}): Promise<Setup> {
  const hub = await startFakeHub();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-downloads-'));
  const events: DownloadInfo[] = [];
  const completed: string[] = [];
  const downloads = new Downloads({
    modelsDir: () => dir,
    hub: () => ({ endpoint: hub.url, token: options.token ?? null }),
    publish: (info) => events.push(info),
    onComplete: async (file) => void completed.push(file),
    retryDelaysMs: [20, 20, 20],
    progressIntervalMs: 0,
    ...options,
  });
  cleanups.push(async () => {
    await downloads.close();
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ended = async (id: string) => {
    await waitFor(() => events.some((e) => e.id === id && !['downloading', 'verifying'].includes(e.state)), 10_000, `download ${id} to end`);
    return events.filter((e) => e.id === id).at(-1)!;
  };
  return { hub, dir, downloads, events, completed, ended };
}

describe('a download from the hub', () => {
  it('follows resolve → CDN, writes a .part, verifies the published SHA-256 and renames it into place, with progress on the way', async () => {
    const s = await setup();
    const data = randomBytes(600_000);
    s.hub.addFile(REPO, FILE, { data });
    s.hub.throttle(1_000_000);
    const first = s.downloads.start({ repo: REPO, file: FILE });
    const target = path.join(s.dir, 'acme', 'tiny-GGUF', FILE);
    expect(first).toMatchObject({ state: 'downloading', path: target, source: `${REPO}/${FILE}`, bytes: 0, resumedFrom: 0 });
    // While it runs only the .part is there.
    await waitFor(() => s.events.some((e) => e.state === 'downloading' && e.bytes > 0), 5000, 'first bytes');
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.existsSync(`${target}.part`)).toBe(true);
    const last = await s.ended(first.id);
    expect(last).toMatchObject({ state: 'done', bytes: data.length, totalBytes: data.length, verified: 'sha256', error: null });
    expect(last.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.readFileSync(target).equals(data)).toBe(true);
    expect(fs.existsSync(`${target}.part`)).toBe(false);
    expect(s.completed).toEqual([target]);
    // Progress: bytes only grow, the total is known from the first event on, and speed and ETA come with it.
    const progress = s.events.filter((e) => e.state === 'downloading');
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.map((e) => e.bytes)).toEqual([...progress.map((e) => e.bytes)].sort((a, b) => a - b));
    expect(progress.slice(1).every((e) => e.totalBytes === data.length)).toBe(true);
    const measured = progress.filter((e) => e.speedBps !== null);
    expect(measured.length).toBeGreaterThan(0);
    expect(measured.every((e) => e.speedBps! > 0 && e.etaS !== null && e.etaS >= 0)).toBe(true);
    expect(s.events.map((e) => e.state).filter((v, i, a) => a[i - 1] !== v)).toEqual(['downloading', 'verifying', 'done']);
    // The hub was asked once, the CDN once; the list shows it.
    expect(s.hub.requests.map((r) => r.server)).toEqual(['hub', 'cdn']);
    expect(s.downloads.list()).toEqual([last]);
  });

  it('resumes with a Range request after the connection drops mid-file, and the result is whole', async () => {
    const s = await setup();
    const data = randomBytes(300_000);
    s.hub.addFile(REPO, FILE, { data });
    s.hub.dropNextAfter(REPO, FILE, 120_000);
    const started = s.downloads.start({ repo: REPO, file: FILE });
    const last = await s.ended(started.id);
    expect(last).toMatchObject({ state: 'done', verified: 'sha256', bytes: data.length });
    const cdn = s.hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.length).toBe(2);
    expect(cdn[0]!.range).toBeNull();
    expect(cdn[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(cdn[1]!.range!)![0])).toBeGreaterThan(0);
    expect(fs.readFileSync(last.path).equals(data)).toBe(true);
  });

  it('goes on from a .part an earlier run left', async () => {
    const s = await setup();
    const data = randomBytes(200_000);
    s.hub.addFile(REPO, FILE, { data });
    const target = path.join(s.dir, 'acme', 'tiny-GGUF', FILE);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(`${target}.part`, data.subarray(0, 150_000));
    const started = s.downloads.start({ repo: REPO, file: FILE });
    expect(started.resumedFrom).toBe(150_000);
    const last = await s.ended(started.id);
    expect(last).toMatchObject({ state: 'done', verified: 'sha256', resumedFrom: 150_000 });
    expect(s.hub.requests.find((r) => r.server === 'cdn')?.range).toBe('bytes=150000-');
    expect(fs.readFileSync(target).equals(data)).toBe(true);
  });

  it('refuses a file whose SHA-256 is not the one the hub publishes, and deletes it', async () => {
    const s = await setup();
    s.hub.addFile(REPO, FILE, { data: randomBytes(50_000) });
    s.hub.lieAboutChecksum(REPO, FILE);
    const last = await s.ended(s.downloads.start({ repo: REPO, file: FILE }).id);
    expect(last.state).toBe('failed');
    expect(last.error).toMatch(/^checksum mismatch: the hub publishes SHA-256 [0-9a-f]{64}, the file downloaded has [0-9a-f]{64}; it was deleted, download it again$/);
    expect(fs.existsSync(last.path)).toBe(false);
    expect(fs.existsSync(`${last.path}.part`)).toBe(false);
    expect(s.completed).toEqual([]);
  });

  it('checks the size of a small file the hub serves without LFS (no SHA-256 published)', async () => {
    const s = await setup();
    s.hub.addFile(REPO, 'config.json', { data: Buffer.from('{"a":1}'), lfs: false });
    const last = await s.ended(s.downloads.start({ repo: REPO, file: 'config.json' }).id);
    expect(last).toMatchObject({ state: 'done', verified: 'size', sha256: null, totalBytes: 7 });
  });

  it('cancels: the download stops and its .part is deleted', async () => {
    const s = await setup();
    s.hub.addFile(REPO, FILE, { data: randomBytes(2_000_000) });
    s.hub.throttle(400_000);
    const started = s.downloads.start({ repo: REPO, file: FILE });
    await waitFor(() => s.events.some((e) => e.bytes > 50_000), 5000, 'some bytes');
    const cancelled = await s.downloads.cancel(started.id);
    expect(cancelled.state).toBe('cancelled');
    expect(fs.existsSync(`${started.path}.part`)).toBe(false);
    expect(fs.existsSync(started.path)).toBe(false);
    expect(s.events.at(-1)).toMatchObject({ id: started.id, state: 'cancelled' });
    // A cancelled download is forgotten; an unknown id is a 404.
    expect(s.downloads.list()).toEqual([]);
    await expect(s.downloads.cancel(started.id)).rejects.toMatchObject({ status: 404, code: 'download_not_found' });
  });

  it('a full disk is a clear error that keeps the .part, and the next try goes on from it', async () => {
    let budget = 100_000;
    let full = true;
    // The disk "fills up" after 100 kB: writes past it fail as a real full disk does.
    const openPart = async (file: string, offset: number): Promise<PartFile> => {
      const fd = fs.openSync(file, offset > 0 ? 'r+' : 'w');
      fs.ftruncateSync(fd, offset);
      let position = offset;
      return {
        async write(chunk) {
          if (full && position + chunk.byteLength > budget) {
            // What fits is written, then the write fails.
            fs.writeSync(fd, chunk, 0, budget - position, position);
            position = budget;
            const err = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
            err.code = 'ENOSPC';
            throw err;
          }
          fs.writeSync(fd, chunk, 0, chunk.byteLength, position);
          position += chunk.byteLength;
        },
        async close() {
          fs.closeSync(fd);
        },
      };
    };
    const s = await setup({ openPart });
    const data = randomBytes(400_000);
    s.hub.addFile(REPO, FILE, { data });
    const failed = await s.ended(s.downloads.start({ repo: REPO, file: FILE }).id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/^the disk is full: 0 MB were written to .*tiny-q4_k_m\.gguf\.part and kept\. Free some space and download it again: it goes on from there$/);
    const kept = fs.statSync(`${failed.path}.part`).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(budget);
    expect(fs.existsSync(failed.path)).toBe(false);
    // Space freed: the same request resumes from the kept bytes.
    full = false;
    budget = Infinity;
    const again = s.downloads.start({ repo: REPO, file: FILE });
    expect(again.resumedFrom).toBe(kept);
    const done = await s.ended(again.id);
    expect(done).toMatchObject({ state: 'done', verified: 'sha256' });
    expect(fs.readFileSync(done.path).equals(data)).toBe(true);
  });

  it('refuses at once when the disk has less room than the file needs', async () => {
    const s = await setup({ freeBytes: async () => 10_000 });
    s.hub.addFile(REPO, FILE, { data: randomBytes(50_000) });
    const last = await s.ended(s.downloads.start({ repo: REPO, file: FILE }).id);
    expect(last.state).toBe('failed');
    expect(last.error).toMatch(/^not enough disk space: 0 MB more are needed in .*, 0 MB are free/);
  });

  it('sends the token to the hub only, never to the CDN it redirects to; a gated repo without it says what to do', async () => {
    const s = await setup({ token: 'hf_secret_token_123' });
    s.hub.addFile(REPO, FILE, { data: randomBytes(10_000) });
    s.hub.gate(REPO, 'hf_secret_token_123');
    s.hub.addFile('acme/other', FILE, { data: randomBytes(10_000) });
    s.hub.gate('acme/other', 'someone-elses');
    const ok = await s.ended(s.downloads.start({ repo: REPO, file: FILE }).id);
    expect(ok.state).toBe('done');
    expect(s.hub.requests.filter((r) => r.server === 'hub').map((r) => r.authorization)).toEqual(['Bearer hf_secret_token_123']);
    expect(s.hub.requests.filter((r) => r.server === 'cdn').map((r) => r.authorization)).toEqual([null]);
    const gated = await s.ended(s.downloads.start({ repo: 'acme/other', file: FILE }).id);
    expect(gated.state).toBe('failed');
    expect(gated.error).toBe(`the hub refused ${FILE} in acme/other (HTTP 401): the repo is gated or private. Accept its terms on its page, then set program.hf_token (or HF_TOKEN) to a token of yours`);
    const missing = await s.ended(s.downloads.start({ repo: REPO, file: 'nope.gguf' }).id);
    expect(missing.error).toBe('there is no nope.gguf in acme/tiny-GGUF (HTTP 404): check the repo and file names');
  });

  it('downloads a plain URL into the models folder under its file name', async () => {
    const s = await setup();
    const data = randomBytes(20_000);
    s.hub.addFile(REPO, FILE, { data, lfs: false });
    const started = s.downloads.start({ url: `${s.hub.url}/${REPO}/resolve/main/${FILE}?download=true` });
    expect(started).toMatchObject({ path: path.join(s.dir, FILE), repo: null, file: null });
    const last = await s.ended(started.id);
    expect(last).toMatchObject({ state: 'done', verified: 'size' });
  });

  it('refuses names that would leave the models folder, a second download of the same file, and a file already there', async () => {
    const s = await setup();
    const refused = (request: Parameters<Downloads['start']>[0]) => {
      try {
        s.downloads.start(request);
      } catch (err) {
        return err as ApiError;
      }
      throw new Error('not refused');
    };
    for (const file of ['../evil.gguf', 'a/../../evil.gguf', 'a\\..\\evil.gguf', 'C:evil.gguf', '', 'x.gguf.part']) {
      expect(refused({ repo: REPO, file })).toMatchObject({ status: 400, code: 'invalid_file_name' });
    }
    expect(refused({ url: `${s.hub.url}/a/%2e%2e` })).toMatchObject({ status: 400, code: 'invalid_file_name' });
    expect(refused({ url: `${s.hub.url}/` })).toMatchObject({ status: 400, code: 'invalid_file_name' });
    expect(refused({ url: 'file:///etc/passwd' })).toMatchObject({ status: 400, code: 'invalid_url' });
    expect(s.hub.requests).toEqual([]);

    s.hub.addFile(REPO, FILE, { data: randomBytes(500_000) });
    s.hub.throttle(500_000);
    const first = s.downloads.start({ repo: REPO, file: FILE });
    expect(refused({ repo: REPO, file: FILE })).toMatchObject({ status: 409, code: 'download_in_progress' });
    s.hub.throttle(null);
    await s.ended(first.id);
    expect(refused({ repo: REPO, file: FILE })).toMatchObject({ status: 409, code: 'file_exists' });
  });
});
