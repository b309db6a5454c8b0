// One budget of open connections per engine, shared by both ways a request reaches it: the fast
// path's kept-alive sockets and the undici pool behind node:http. Without it, a burst released at
// once from a model's start opened one connection per request, and an engine that binds a thread
// to each connection (llama-server) left the ones past its threads unread for seconds.
//
// The fast path takes a slot only when one is free (else the request goes to node:http, where it
// waits in undici's queue); undici's connector waits for a slot in arrival order, and the fast
// path gives its idle sockets up to such a waiter rather than keeping them.

export class EngineSlots {
  /** Sockets open to the engine from both paths. */
  open = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    /** The limit now (read each time: a saved config applies at once; the model on a port may change). */
    public limit: () => number,
    /** Closes one idle fast-path socket of this engine, if there is one (its close frees a slot). */
    private readonly closeIdle: () => boolean,
  ) {}

  get waiting(): number {
    return this.waiters.length;
  }

  /** A slot now, or false. */
  tryTake(): boolean {
    if (this.open >= this.limit() || this.waiters.length > 0) return false;
    this.open++;
    return true;
  }

  /** A slot when one frees, in arrival order (`grant` is then called with the slot taken). Returns a cancel function. */
  wait(grant: () => void): () => void {
    if (this.tryTake()) {
      grant();
      return () => undefined;
    }
    this.waiters.push(grant);
    // An idle socket of the fast path holds a slot nobody uses: give it up now.
    this.closeIdle();
    return () => {
      const i = this.waiters.indexOf(grant);
      if (i !== -1) this.waiters.splice(i, 1);
    };
  }

  /** A socket closed: its slot goes to the first waiter, if any. */
  release(): void {
    this.open--;
    while (this.waiters.length > 0 && this.open < this.limit()) {
      this.open++;
      this.waiters.shift()!();
    }
  }
}

/** The slots of every engine port the router talks to. */
export class EngineSlotTable {
  private readonly byPort = new Map<number, EngineSlots>();
  /** Set by the fast path: closes one of its idle sockets to `port`. */
  closeIdleFast: (port: number) => boolean = () => false;

  /** `limit` is read each time it matters: the model's max_connections as configured now. */
  get(port: number, limit: () => number): EngineSlots {
    let slots = this.byPort.get(port);
    if (!slots) {
      slots = new EngineSlots(limit, () => this.closeIdleFast(port));
      this.byPort.set(port, slots);
    } else {
      slots.limit = limit;
    }
    return slots;
  }

  peek(port: number): EngineSlots | undefined {
    return this.byPort.get(port);
  }
}
