import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { LogLine } from '../../../src-shared/contract.js';
import { LineSplitter } from './engine-text.js';
import { openAppend } from './log-file.js';

export const LOG_CAPACITY = 2000;
/** One pathological line (a progress bar without newlines) must not grow without bound. */
const MAX_LINE_CHARS = 16 * 1024;
const MAX_LINE_BYTES = MAX_LINE_CHARS;

export interface ModelLogOptions {
  capacity?: number;
  /** The encoding of output that isn't valid UTF-8 (engine-text.ts engineFallbackEncoding); null: none. */
  fallbackEncoding?: () => string | null;
}

type Stream = LogLine['stream'];

/**
 * One model's engine output: a ring buffer of the last lines for the window and API, mirrored
 * to a per-model file. Chunks from a pipe are split into lines, keeping partial lines per stream.
 */
export class ModelLog {
  private readonly ring: (LogLine | undefined)[];
  private next = 0;
  private seq = 0;
  private readonly splitters: Record<'stdout' | 'stderr', LineSplitter>;
  private readonly capacity: number;
  private file: WriteStream | null = null;
  private fileBroken = false;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    readonly model: string,
    readonly filePath: string | null,
    options: ModelLogOptions | number = {},
  ) {
    const { capacity = LOG_CAPACITY, fallbackEncoding = () => null } = typeof options === 'number' ? { capacity: options } : options;
    this.capacity = capacity;
    this.ring = new Array(capacity);
    this.splitters = {
      stdout: new LineSplitter(fallbackEncoding, MAX_LINE_BYTES),
      stderr: new LineSplitter(fallbackEncoding, MAX_LINE_BYTES),
    };
  }

  static fileNameFor(model: string): string {
    // Model names come from the user's YAML: keep them readable but never a path.
    return `${model.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || 'model'}.log`;
  }

  static inDir(model: string, dir: string | null, options: ModelLogOptions = {}): ModelLog {
    return new ModelLog(model, dir ? join(dir, ModelLog.fileNameFor(model)) : null, options);
  }

  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Feeds a chunk of process output; complete lines are stored and emitted. Bytes are split into
   * lines before they are decoded (a character cut between two chunks is joined first), each line
   * as UTF-8, or in the fallback encoding when it isn't valid UTF-8.
   */
  write(stream: Stream, chunk: string | Buffer): void {
    if (stream === 'system') return this.push(stream, chunk.toString());
    for (const line of this.splitters[stream].push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)) this.push(stream, line);
  }

  /** A line of our own (spawned, ready, stopped ...), shown among the engine's lines. */
  system(text: string): void {
    this.push('system', text);
  }

  /** Emits any unterminated last line (called when the process exits). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.splitters[stream].end();
      if (rest !== null) this.push(stream, rest);
    }
  }

  tail(n = this.capacity): LogLine[] {
    const count = Math.min(Math.max(0, Math.floor(n)), this.seq, this.capacity);
    const out: LogLine[] = [];
    for (let i = count; i > 0; i--) {
      const line = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (line) out.push(line);
    }
    return out;
  }

  /** Text of the last n engine lines, for failure reasons. */
  tailText(n: number): string[] {
    return this.tail(n).map((line) => line.text);
  }

  close(): void {
    this.flush();
    this.file?.end();
    this.file = null;
  }

  private push(stream: Stream, rawText: string): void {
    const text = rawText.length > MAX_LINE_CHARS ? `${rawText.slice(0, MAX_LINE_CHARS)}…` : rawText;
    const line: LogLine = { seq: ++this.seq, ts: Date.now(), stream, text };
    this.ring[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    this.fileStream()?.write(`${new Date(line.ts).toISOString()} ${stream.padEnd(6)} ${text}\n`);
    for (const listener of this.listeners) listener(line);
  }

  private fileStream(): WriteStream | null {
    if (this.file || !this.filePath || this.fileBroken) return this.file;
    // A full disk or a vanished folder must not take the node down: keep the ring buffer only.
    this.file = openAppend(this.filePath, () => {
      this.file = null;
      this.fileBroken = true;
    });
    if (!this.file) this.fileBroken = true;
    return this.file;
  }
}
