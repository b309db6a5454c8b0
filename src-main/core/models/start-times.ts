// How long each model's last successful start took, remembered across runs (a small JSON file in
// program.log_dir, beside the engine ledger), so a start's progress can be estimated from the first
// start after the node itself restarts. Read once; written after a start, off the request path.
import fs from 'node:fs';
import path from 'node:path';

export const START_TIMES_FILE = 'start-times.json';

export interface StartTimeStore {
  /** ms the last successful start of `model` took, or null when it never started. */
  get(model: string): number | null;
  record(model: string, ms: number): void;
}

export class StartTimes implements StartTimeStore {
  private readonly times = new Map<string, number>();
  private writing = false;
  private dirty = false;

  constructor(private readonly file: string | null) {
    if (!file) return;
    try {
      const data = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (data && typeof data === 'object' && !Array.isArray(data)) {
        for (const [model, ms] of Object.entries(data)) if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) this.times.set(model, ms);
      }
    } catch {
      // none yet, or unreadable: starts are estimated once they have happened
    }
  }

  get(model: string): number | null {
    return this.times.get(model) ?? null;
  }

  record(model: string, ms: number): void {
    this.times.set(model, Math.round(ms));
    this.dirty = true;
    if (!this.writing) this.flush();
  }

  private flush(): void {
    if (!this.file || !this.dirty) return;
    this.dirty = false;
    this.writing = true;
    const file = this.file;
    const tmp = `${file}.${process.pid}.tmp`;
    const text = JSON.stringify(Object.fromEntries(this.times));
    void fs.promises
      .mkdir(path.dirname(file), { recursive: true })
      .then(() => fs.promises.writeFile(tmp, text))
      .then(() => fs.promises.rename(tmp, file))
      .catch(() => undefined) // a remembered time is a nicety; a read-only log folder costs only the estimate
      .finally(() => {
        this.writing = false;
        if (this.dirty) this.flush();
      });
  }
}
