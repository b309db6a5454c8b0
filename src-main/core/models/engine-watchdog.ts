// No orphans, even when the node itself dies: a tiny shell process (about 1 MB) outside the node
// holds the other end of a pipe and the list of engine process groups. When the pipe closes — the
// node exited, crashed, ran out of memory or got kill -9 — it stops every group still listed, so a
// game gets its VRAM back at once rather than at LLM Manager's next start (the ledger's reaper
// remains for what the watchdog can't cover: both killed, a power cut). POSIX only: on Windows the
// job object libuv puts engines in does this job.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../logger.js';

/** Seen in `ps` as the shell's $0. */
export const WATCHDOG_NAME = 'llm-manager-engine-watchdog';

// stdin: "+PGID" adds a group, "-PGID" drops it. At end of input: SIGTERM to every group left,
// SIGKILL to those still there after the grace period (tenths of a second, $1), then up to 1 s
// for the kills to take effect.
const SCRIPT = `
groups=''
while IFS= read -r line; do
  case $line in
    +[1-9]*) groups="$groups \${line#+}" ;;
    -[1-9]*) keep=''; for g in $groups; do [ "$g" = "\${line#-}" ] || keep="$keep $g"; done; groups=$keep ;;
  esac
done
[ -n "$groups" ] || exit 0
# Keeps in $groups those with a process left; false once none is.
prune() {
  alive=''
  for g in $groups; do kill -0 "-$g" 2>/dev/null && alive="$alive $g"; done
  groups=$alive
  [ -n "$groups" ]
}
# Waits up to $1 tenths of a second for every group to be gone; false if some are still there.
wait_gone() {
  i=0
  while prune; do
    [ "$i" -lt "$1" ] || return 1
    sleep 0.1
    i=$((i + 1))
  done
}
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
wait_gone "$1" && exit 0
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
# A SIGKILL takes effect when the kernel next runs the process: the watchdog exits once it has
# (or after 1 s), so that its exit means the groups are gone.
wait_gone 10
exit 0
`;

export interface WatchdogOptions {
  logger: Logger;
  /** How long the engines get between SIGTERM and SIGKILL once the node is gone (default 5 s). */
  graceMs?: number;
  /** Test seam: where the shell is. */
  shell?: string;
  platform?: NodeJS.Platform;
}

export class EngineWatchdog {
  private child: ChildProcess | null = null;
  private readonly groups = new Set<number>();
  private closed = false;
  private failed = false;

  constructor(private readonly options: WatchdogOptions) {}

  get enabled(): boolean {
    return (this.options.platform ?? process.platform) !== 'win32';
  }

  /** The watchdog's pid once it runs (started with the first engine). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** An engine started: it leads process group `pgid`. */
  add(pgid: number): void {
    if (!this.enabled || this.closed || !(Number.isInteger(pgid) && pgid > 1)) return;
    this.groups.add(pgid);
    if (!this.child) this.start();
    else this.send(`+${pgid}`);
  }

  /** No process of the group is left. */
  remove(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.send(`-${pgid}`);
  }

  /** Clean shutdown (the engines are stopped): the watchdog exits; anything still listed is stopped by it. */
  close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      // Held while we wait: with nothing else left, an unref'd child let the process end mid-close
      // (exit 0, before the CLI's "All engines stopped").
      child.ref();
      child.stdin?.end();
    });
  }

  private start(): void {
    const grace = Math.max(1, Math.round((this.options.graceMs ?? 5000) / 100));
    let child: ChildProcess;
    try {
      // Its own process group: a Ctrl+C in the node's terminal must not take it down first.
      child = spawn(this.options.shell ?? '/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME, String(grace)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    } catch (err) {
      return this.fail(err as Error);
    }
    this.child = child;
    child.once('error', (err) => this.fail(err));
    child.once('exit', () => {
      if (this.child !== child) return;
      // Killed by someone: start a new one with the next engine, listing every group again.
      this.child = null;
    });
    child.stdin!.on('error', () => undefined);
    // Neither the process nor its pipe keeps the node's event loop alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    this.send([...this.groups].map((g) => `+${g}`).join('\n'));
  }

  private send(lines: string): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed && lines !== '') stdin.write(`${lines}\n`);
  }

  private fail(err: Error): void {
    this.child = null;
    if (this.failed) return;
    this.failed = true;
    this.options.logger.warn(`cannot start the engine watchdog (${err.message}); engines left by a crash are stopped at the next start instead`);
  }
}
