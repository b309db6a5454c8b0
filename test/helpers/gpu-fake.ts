// Puts test/fixtures/fake-nvidia-smi first on PATH for this test file (vitest runs each file in
// its own process) and lets the test rewrite what it reports: cards, free memory, compute
// processes, hangs, failures, garbage. Engines started with `vram({ 0: 4000 })` among their args
// show up as using that memory while they run.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_NVIDIA_SMI_DIR = fileURLToPath(new URL('../fixtures/fake-nvidia-smi/', import.meta.url));

export interface FakeGpu {
  index: number;
  name: string;
  totalMb: number;
  /** Used by processes we don't know about (the desktop, another user's job). */
  usedMb?: number;
  uuid?: string;
  utilization?: number;
  temperature?: number;
  power?: number | string;
  /** Raw column overrides, e.g. { 'power.draw': '[N/A]' }. */
  fields?: Record<string, string>;
}

export type FakeMode = 'ok' | 'hang' | 'fail' | 'garbage';

export interface FakeState {
  gpus?: FakeGpu[];
  apps?: { gpu: number; pid: number; usedMb: number | string }[];
  mode?: FakeMode;
  appsMode?: FakeMode;
  /** As Windows (WDDM) drivers answer: every process listed with used_memory "[N/A]"; the cards' used memory still counts it. */
  wddm?: boolean;
  garbage?: string;
  exitCode?: number;
  stderr?: string;
  /** As a driver that frees late: an engine's memory is still reported this long after it exited (as seen by earlier calls). */
  freeLagMs?: number;
}

export interface FakeNvidiaSmi {
  statePath: string;
  set(state: FakeState): void;
  update(change: (state: FakeState) => void): void;
  /** The argument lines of every call so far. */
  calls(): string[];
  /** A demo-engine argument that makes the fake report the engine as using `mb` per card index. */
  vram(perCard: Record<number, number>): string;
  /** Restores PATH and removes the state folder. */
  restore(): void;
}

export function installFakeNvidiaSmi(initial: FakeState = {}): FakeNvidiaSmi {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-nvidia-smi-'));
  const statePath = path.join(dir, 'state.json');
  const tag = randomBytes(4).toString('hex');
  let state: FakeState = {};
  const write = () => {
    const tmp = `${statePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ ...state, tag }));
    fs.renameSync(tmp, statePath);
  };
  const saved = { PATH: process.env['PATH'], state: process.env['FAKE_NVIDIA_SMI_STATE'], node: process.env['FAKE_NVIDIA_SMI_NODE'] };
  process.env['PATH'] = `${FAKE_NVIDIA_SMI_DIR}${path.delimiter}${saved.PATH ?? ''}`;
  process.env['FAKE_NVIDIA_SMI_STATE'] = statePath;
  process.env['FAKE_NVIDIA_SMI_NODE'] = process.execPath;
  state = structuredClone(initial);
  write();
  return {
    statePath,
    set(next) {
      state = structuredClone(next);
      write();
    },
    update(change) {
      change(state);
      write();
    },
    calls() {
      try {
        return fs.readFileSync(`${statePath}.calls`, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    vram(perCard) {
      return `--fake-vram=${tag}@${Object.entries(perCard).map(([card, mb]) => `${card}:${mb}`).join(',')}`;
    },
    restore() {
      const put = (key: string, value: string | undefined) => {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      };
      put('PATH', saved.PATH);
      put('FAKE_NVIDIA_SMI_STATE', saved.state);
      put('FAKE_NVIDIA_SMI_NODE', saved.node);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const V100: FakeGpu = { index: 0, name: 'Tesla V100-SXM2-32GB', totalMb: 32768, uuid: 'GPU-8a1e0c5f-v100' };
export const RTX_4060_TI: FakeGpu = { index: 1, name: 'NVIDIA GeForce RTX 4060 Ti', totalMb: 16380, uuid: 'GPU-44d0a2b7-4060' };
