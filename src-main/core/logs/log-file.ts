// Append-only log files (an engine's, the node's own): opened on the first line, folders created,
// a file over 20 MB moved aside to .1 first. A file that can't be written (a full disk, a
// read-only folder) is given up quietly: logging must never stop the node or an engine.
import { createWriteStream, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

const ROTATE_BYTES = 20 * 1024 * 1024;

/** Moves `path` to `path.1` when it is larger than ROTATE_BYTES (one old file kept). */
function rotateIfLarge(path: string): void {
  try {
    if (statSync(path).size > ROTATE_BYTES) renameSync(path, `${path}.1`);
  } catch {
    // no file yet
  }
}

/** Opens `path` for appending (rotating first), or null when it can't be. */
export function openAppend(path: string, onError: () => void): WriteStream | null {
  try {
    mkdirSync(dirname(path), { recursive: true });
    rotateIfLarge(path);
    const stream = createWriteStream(path, { flags: 'a' });
    stream.on('error', onError);
    return stream;
  } catch {
    return null;
  }
}

/** A writer of whole lines to `path`, for a logger's output. */
export function lineFile(path: string): (line: string) => void {
  let stream: WriteStream | null = null;
  let broken = false;
  return (line) => {
    if (broken) return;
    stream ??= openAppend(path, () => {
      broken = true;
      stream = null;
    });
    if (!stream) {
      broken = true;
      return;
    }
    stream.write(`${line}\n`);
  };
}

/** A logger's output: each line to stderr, and to `path` as long as it can be written. */
export function stderrAndFile(path: string): (line: string) => void {
  const toFile = lineFile(path);
  return (line) => {
    process.stderr.write(`${line}\n`);
    toFile(line);
  };
}
