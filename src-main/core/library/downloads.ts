// Downloads into the first models folder: a Hugging Face repo + file (or a URL), written to
// `<file>.part`, resumed with HTTP Range after a dropped connection (or from a `.part` an earlier
// run left), its size and the SHA-256 the hub publishes checked, then renamed into place. Loaded
// on first use (the node doesn't carry it until someone downloads).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DownloadInfo, DownloadRequest } from '../../../src-shared/contract.js';
import { ApiError } from '../../../src-shared/errors.js';

/** Where bytes go: the seam a test uses to make the disk fill up. */
export interface PartFile {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface DownloadsOptions {
  /** The first of program.models_dirs, absolute: downloads go here. */
  modelsDir: () => string;
  /** program.hf_endpoint and the token (program.hf_token, else HF_TOKEN). */
  hub: () => { endpoint: string; token: string | null };
  /** Every change worth showing (progress a few times a second, each state change). */
  publish: (info: DownloadInfo) => void;
  /** A file is complete and in place: the library rescans before `done` is published. */
  onComplete?: (file: string) => Promise<unknown>;
  fetch?: typeof fetch;
  /** Opens `file` for appending at `offset` (the bytes before it stay); default: node:fs. */
  openPart?: (file: string, offset: number) => Promise<PartFile>;
  /** Free bytes on the disk holding `dir` (null: unknown); default: statfs. */
  freeBytes?: (dir: string) => Promise<number | null>;
  /** Waits between retries of a dropped connection (one per retry). */
  retryDelaysMs?: readonly number[];
  /** How often progress is published at most. */
  progressIntervalMs?: number;
}

const DEFAULT_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const MAX_REDIRECTS = 8;
const SPEED_WINDOW_MS = 5000;
const SHA256 = /^[0-9a-f]{64}$/;

/** A failure that retrying won't fix (an answer of the server, a full disk, a wrong checksum). */
class FinalError extends Error {}

class Cancelled extends Error {}

export class Downloads {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly options: DownloadsOptions) {}

  list(): DownloadInfo[] {
    return [...this.jobs.values()].map((job) => job.info()).reverse();
  }

  start(request: DownloadRequest): DownloadInfo {
    const target = resolveTarget(request, this.options.modelsDir(), this.options.hub().endpoint);
    for (const job of this.jobs.values()) {
      if (job.path === target.path && job.active) throw new ApiError(409, 'download_in_progress', `${target.path} is being downloaded already (download ${job.id})`);
    }
    if (fs.existsSync(target.path)) throw new ApiError(409, 'file_exists', `${target.path} is there already: it is in the library (delete it first to download it again)`);
    const job = new Job(randomBytes(6).toString('hex'), target, this.options, partSize(`${target.path}.part`));
    this.jobs.set(job.id, job);
    job.run();
    return job.info();
  }

  /** Cancels a running download (its .part deleted), or forgets a finished one (a failed one's .part deleted too). */
  async cancel(id: string): Promise<DownloadInfo> {
    const job = this.jobs.get(id);
    if (!job) throw new ApiError(404, 'download_not_found', `there is no download ${id}`);
    const info = await job.cancel();
    if (!job.active) this.jobs.delete(id);
    return info;
  }

  /** Cancels every running download, keeping their .part files to resume (the node is closing). */
  async close(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((job) => job.stop()));
  }
}

interface Target {
  url: string;
  path: string;
  repo: string | null;
  file: string | null;
  source: string;
}

/** The URL to fetch and the file to write, refusing names that would leave the models folder. */
export function resolveTarget(request: DownloadRequest, modelsDir: string, endpoint: string): Target {
  const root = path.resolve(modelsDir);
  let segments: string[];
  let url: string;
  let repo: string | null = null;
  let file: string | null = null;
  if (request.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(request.url);
    } catch {
      throw new ApiError(400, 'invalid_url', `"${request.url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ApiError(400, 'invalid_url', 'only http(s) URLs can be downloaded');
    const last = parsed.pathname.split('/').filter(Boolean).pop();
    let name: string;
    try {
      name = decodeURIComponent(last ?? '');
    } catch {
      throw new ApiError(400, 'invalid_file_name', `the URL's file name "${last}" is not valid`);
    }
    segments = [name];
    url = parsed.href;
  } else {
    repo = request.repo!;
    file = request.file!;
    segments = [...repo.split('/'), ...file.split('/')];
    const revision = request.revision ?? 'main';
    url = `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
  }
  for (const segment of segments) checkSegment(segment);
  const target = path.resolve(root, ...segments);
  const rel = path.relative(root, target);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new ApiError(400, 'invalid_file_name', 'the file name would leave the models folder');
  return { url, path: target, repo, file, source: repo !== null ? `${repo}/${file}` : url };
}

function checkSegment(segment: string): void {
  const refuse = (why: string) => new ApiError(400, 'invalid_file_name', `refused file name "${segment}": ${why}`);
  if (segment === '') throw refuse('it is empty (a name with "//" or a URL without a file name)');
  if (segment === '.' || segment === '..') throw refuse('a file name may not leave the models folder');
  if (/[\\:\u0000-\u001f\u007f]/.test(segment)) throw refuse('it has a backslash, a colon or a control character');
  if (segment.endsWith('.part')) throw refuse('".part" names are the download\'s own');
  if (segment.length > 255) throw refuse('it is longer than 255 characters');
}

class Job {
  readonly path: string;
  private state: DownloadInfo['state'] = 'downloading';
  private bytes = 0;
  private totalBytes: number | null = null;
  private resumedFrom = 0;
  private sha256: string | null = null;
  private verified: DownloadInfo['verified'] = null;
  private error: string | null = null;
  private readonly startedAt = new Date().toISOString();
  private finishedAt: string | null = null;
  private readonly samples: { t: number; bytes: number }[] = [];
  private lastPublish = 0;
  private abort = new AbortController();
  /** Why the run was interrupted: the user cancelled (the .part goes), or the node is closing (it stays). */
  private interrupt: 'cancel' | 'close' | null = null;
  private running: Promise<void> | null = null;

  constructor(
    readonly id: string,
    private readonly target: Target,
    private readonly options: DownloadsOptions,
    partBytes: number,
  ) {
    this.path = target.path;
    this.resumedFrom = this.bytes = partBytes;
  }

  get active(): boolean {
    return this.state === 'downloading' || this.state === 'verifying';
  }

  private get part(): string {
    return `${this.path}.part`;
  }

  info(): DownloadInfo {
    const speed = this.speed();
    const left = this.totalBytes !== null ? this.totalBytes - this.bytes : null;
    return {
      id: this.id,
      source: this.target.source,
      repo: this.target.repo,
      file: this.target.file,
      path: this.path,
      state: this.state,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      speedBps: this.state === 'downloading' ? speed : null,
      etaS: this.state === 'downloading' && speed !== null && speed > 0 && left !== null ? Math.ceil(left / speed) : null,
      resumedFrom: this.resumedFrom,
      sha256: this.sha256,
      verified: this.verified,
      error: this.error,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
    };
  }

  run(): void {
    this.running = this.loop();
  }

  async cancel(): Promise<DownloadInfo> {
    if (this.active) {
      this.interrupt = 'cancel';
      this.abort.abort();
      await this.running;
    } else if (this.state === 'failed') {
      await fsp.rm(this.part, { force: true });
    }
    return this.info();
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    this.interrupt = 'close';
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    try {
      await fsp.mkdir(path.dirname(this.path), { recursive: true });
      for (let attempt = 0; ; attempt++) {
        try {
          await this.attempt();
          break;
        } catch (err) {
          if (this.interrupt || err instanceof FinalError || attempt >= delays.length) throw err;
          // A dropped connection: go again from what is on disk.
          await sleep(delays[attempt]!, this.abort.signal);
        }
      }
      await this.finish();
    } catch (err) {
      if (this.interrupt === 'cancel') {
        await fsp.rm(this.part, { force: true }).catch(() => undefined);
        this.end('cancelled', null);
      } else if (this.interrupt === 'close') {
        this.end('failed', `LLM Manager closed during the download; ${this.bytes} bytes are kept in ${this.part}: download it again to resume`);
      } else {
        this.end('failed', (err as Error).message);
      }
    }
  }

  private end(state: DownloadInfo['state'], error: string | null): void {
    this.state = state;
    this.error = error;
    this.finishedAt = new Date().toISOString();
    this.publish(true);
  }

  /** One request: from the bytes on disk to the end of the file, or until the connection drops. */
  private async attempt(): Promise<void> {
    const have = await sizeOf(this.part);
    this.bytes = have;
    const res = await this.request(have);
    let offset = have;
    if (res.status === 416 && have > 0) {
      // Asked for bytes past the end: the .part holds the whole file already (or more), so the checks decide.
      await res.body?.cancel();
      this.totalBytes ??= have;
      return;
    }
    if (res.status === 200) offset = 0; // the server ignored Range: from the start
    else if (res.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== have) {
        await res.body?.cancel();
        await fsp.rm(this.part, { force: true });
        throw new Error('the server answered another range than the one asked for; starting over');
      }
      if (range[3] !== '*') this.totalBytes ??= Number(range[3]);
    } else {
      await res.body?.cancel();
      throw new FinalError(this.statusMessage(res.status));
    }
    if (res.status === 200) {
      const length = Number(res.headers.get('content-length') ?? NaN);
      if (Number.isSafeInteger(length)) this.totalBytes ??= length;
    }
    if (!res.body) throw new Error('the server sent no body');
    await this.ensureRoom(offset);
    const file = await (this.options.openPart ?? openPart)(this.part, offset);
    this.bytes = offset;
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        try {
          await file.write(chunk);
        } catch (err) {
          throw new FinalError(writeMessage(err as NodeJS.ErrnoException, this.bytes, this.part));
        }
        this.bytes += chunk.byteLength;
        this.publish(false);
      }
    } finally {
      await file.close().catch(() => undefined);
    }
    if (this.totalBytes !== null && this.bytes < this.totalBytes) throw new Error(`the connection closed after ${this.bytes} of ${this.totalBytes} bytes`);
  }

  /** Refuses at once when the disk can't hold what is left (the .part stays for later). */
  private async ensureRoom(offset: number): Promise<void> {
    if (this.totalBytes === null) return;
    const free = await (this.options.freeBytes ?? freeBytes)(path.dirname(this.path)).catch(() => null);
    const need = this.totalBytes - offset;
    if (free !== null && need > free) {
      throw new FinalError(`not enough disk space: ${mb(need)} more are needed in ${path.dirname(this.path)}, ${mb(free)} are free. Free some space and download it again: it goes on from the ${mb(offset)} kept in ${this.part}`);
    }
  }

  /** GET with Range from `have`, following the hub's redirects (resolve → CDN) by hand so the token goes only to the hub. */
  private async request(have: number): Promise<Response> {
    const { endpoint, token } = this.options.hub();
    const hubOrigin = originOf(endpoint);
    const doFetch = this.options.fetch ?? fetch;
    let url = this.target.url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'llm-manager' };
      if (have > 0) headers['range'] = `bytes=${have}-`;
      if (token && originOf(url) === hubOrigin) headers['authorization'] = `Bearer ${token}`;
      const res = await doFetch(url, { headers, redirect: 'manual', signal: this.abort.signal });
      this.noteHubHeaders(res);
      if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
        await res.body?.cancel();
        url = new URL(res.headers.get('location')!, url).href;
        continue;
      }
      return res;
    }
    throw new FinalError(`more than ${MAX_REDIRECTS} redirects from ${this.target.url}`);
  }

  /** The hub publishes an LFS file's SHA-256 as X-Linked-Etag and its size as X-Linked-Size (on the resolve answer). */
  private noteHubHeaders(res: Response): void {
    const linked = res.headers.get('x-linked-etag');
    const size = Number(res.headers.get('x-linked-size') ?? NaN);
    if (Number.isSafeInteger(size) && size >= 0) this.totalBytes = size;
    const tag = (linked ?? '').replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    if (SHA256.test(tag)) this.sha256 = tag;
  }

  private statusMessage(status: number): string {
    const what = this.target.repo !== null ? `${this.target.file} in ${this.target.repo}` : this.target.url;
    if (status === 401 || status === 403) {
      return this.target.repo !== null
        ? `the hub refused ${what} (HTTP ${status}): the repo is gated or private. Accept its terms on its page, then set program.hf_token (or HF_TOKEN) to a token of yours`
        : `the server refused ${what} (HTTP ${status})`;
    }
    if (status === 404) return this.target.repo !== null ? `there is no ${this.target.file} in ${this.target.repo} (HTTP 404): check the repo and file names` : `nothing at ${what} (HTTP 404)`;
    return `the server answered HTTP ${status} for ${what}`;
  }

  /** Size, then SHA-256 when published, then the rename: the file appears complete or not at all. */
  private async finish(): Promise<void> {
    this.state = 'verifying';
    this.publish(true);
    const size = await sizeOf(this.part);
    if (this.totalBytes !== null && size !== this.totalBytes) {
      await fsp.rm(this.part, { force: true });
      throw new FinalError(`the file is ${size} bytes, not the ${this.totalBytes} the server announced; it was deleted, download it again`);
    }
    if (this.sha256 !== null) {
      const actual = await sha256Of(this.part, this.abort.signal);
      if (actual !== this.sha256) {
        await fsp.rm(this.part, { force: true });
        throw new FinalError(`checksum mismatch: the hub publishes SHA-256 ${this.sha256}, the file downloaded has ${actual}; it was deleted, download it again`);
      }
      this.verified = 'sha256';
    } else if (this.totalBytes !== null) {
      this.verified = 'size';
    }
    await fsp.rename(this.part, this.path);
    this.bytes = size;
    this.totalBytes = size;
    await this.options.onComplete?.(this.path)?.catch(() => undefined);
    this.end('done', null);
  }

  private speed(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 200) return null;
    return Math.round(((last.bytes - first.bytes) * 1000) / (last.t - first.t));
  }

  private publish(always: boolean): void {
    const now = Date.now();
    if (always || now - (this.samples.at(-1)?.t ?? 0) >= 100) this.samples.push({ t: now, bytes: this.bytes });
    while (this.samples.length > 2 && now - this.samples[0]!.t > SPEED_WINDOW_MS) this.samples.shift();
    if (!always && now - this.lastPublish < (this.options.progressIntervalMs ?? 250)) return;
    this.lastPublish = now;
    this.options.publish(this.info());
  }
}

function writeMessage(err: NodeJS.ErrnoException, bytes: number, part: string): string {
  if (err.code === 'ENOSPC' || err.code === 'EDQUOT') {
    return `the disk is full: ${mb(bytes)} were written to ${part} and kept. Free some space and download it again: it goes on from there`;
  }
  return `couldn't write ${part}: ${err.message}`;
}

function mb(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function partSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return 0;
  }
}

async function openPart(file: string, offset: number): Promise<PartFile> {
  // Keep the first `offset` bytes, drop anything after (a torn last write).
  const handle = await fsp.open(file, offset > 0 ? 'r+' : 'w');
  await handle.truncate(offset);
  let position = offset;
  return {
    async write(chunk) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    },
    close: () => handle.close(),
  };
}

async function freeBytes(dir: string): Promise<number | null> {
  const stats = await fsp.statfs(dir);
  return stats.bavail * stats.bsize;
}

async function sha256Of(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { signal, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled('aborted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Cancelled('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
