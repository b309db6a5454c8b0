// When a process has exited, to a tenth of a millisecond, seen from outside it: a worker thread reads
// /proc/PID/stat every ~50 µs until the process is a zombie (its exit is complete: memory unmapped,
// files closed, GPU contexts released with them) or gone (its parent has reaped it already). Its own
// clock can't see that moment: its last mark comes before its runtime's teardown and the kernel's.
// A worker, so the bench's event loop (reading the answers it times) never waits for the polling;
// it sleeps between reads (Atomics.wait) to leave the CPU to that loop.
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { pid, control, intervalMs } = workerData;
const nap = new Int32Array(new SharedArrayBuffer(4));
// [0]: 1 once told to start polling, [1]: 1 once told to stop.
const flags = new Int32Array(control);
const file = '/proc/' + pid + '/stat';
let at = null;
let how = 'stopped';
let reads = 0;
parentPort.postMessage({ kind: 'started' });
// Asleep (no CPU) until told to begin: the bench's own reads on this CPU are not disturbed before.
while (Atomics.load(flags, 0) === 0 && Atomics.load(flags, 1) === 0) Atomics.wait(flags, 0, 0, 1000);
while (Atomics.load(flags, 1) === 0) {
  let state;
  try {
    const text = fs.readFileSync(file, 'latin1');
    state = text[text.lastIndexOf(')') + 2];
  } catch {
    state = 'gone';
  }
  if (state === 'Z' || state === 'X' || state === 'gone') {
    at = performance.timeOrigin + performance.now();
    how = state === 'gone' ? 'reaped' : 'zombie';
    // Exited before the first read: when is unknown (only that it was earlier).
    if (reads === 0) { at = null; how = 'before'; }
    break;
  }
  // Seen running once told to begin: from here on its exit is timed.
  if (reads === 0) parentPort.postMessage({ kind: 'polling' });
  reads++;
  Atomics.wait(nap, 0, 0, intervalMs);
}
parentPort.postMessage({ kind: 'done', at, how });
`;

/** how: seen a zombie, seen gone (reaped), stopped first, or exited before the first read (at: null). */
type Outcome = { at: number | null; how: 'zombie' | 'reaped' | 'stopped' | 'before' };

export interface ExitWatch {
  /** Epoch ms (with a fraction) when the process was first seen exited (zombie or reaped); null when stopped first. */
  readonly done: Promise<Outcome>;
  /** Begins reading /proc (until then the worker sleeps); resolves once it has read the process running, or done. */
  begin(): Promise<void>;
  /** Stops watching (done then resolves with at: null unless it had seen the exit). */
  stop(): void;
}

/** Whether /proc can tell (Linux); elsewhere the caller measures another way. */
export const canWatchExits = (): boolean => fs.existsSync('/proc/self/stat');

/**
 * A watch on `pid`, ready once its worker runs: begin() starts the reads (call it before the process
 * may exit), which go on until it has exited or stop() is called. The moment is read at most
 * ~`intervalMs` (plus one read, ~10 µs) after the exit: it errs on the process's side.
 */
export function watchExit(pid: number, intervalMs = 0.05): Promise<ExitWatch> {
  const control = new SharedArrayBuffer(8);
  const flags = new Int32Array(control);
  const worker = new Worker(WORKER, { eval: true, workerData: { pid, control, intervalMs } });
  let started!: () => void;
  let polling!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const pollingNow = new Promise<void>((resolve) => (polling = resolve));
  const settle = () => {
    started();
    polling();
  };
  const done = new Promise<Outcome>((resolve, reject) => {
    worker.on('message', (m: { kind: 'started' } | { kind: 'polling' } | ({ kind: 'done' } & Outcome)) => {
      if (m.kind === 'started') return started();
      if (m.kind === 'polling') return polling();
      settle();
      resolve({ at: m.at, how: m.how });
    });
    worker.once('error', (err) => {
      settle();
      reject(err);
    });
    worker.once('exit', () => {
      settle();
      resolve({ at: null, how: 'stopped' });
    });
  });
  const tell = (i: number) => {
    Atomics.store(flags, i, 1);
    Atomics.notify(flags, 0);
  };
  const watch: ExitWatch = {
    done,
    begin: () => {
      tell(0);
      return pollingNow;
    },
    stop: () => tell(1),
  };
  return ready.then(() => watch);
}
