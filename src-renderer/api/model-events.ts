// The model list is kept by two sources: events (each model's state as it changes) and a fetch of
// the whole list (after a config change, a reconnect, and every 15 s). A fetch answered with a state
// read before an event that reached the window while the fetch was on its way would put the older
// state back: a model that turned ready would read "starting" until its next change. So the last
// event of each model is kept with when it came, and a fetched entry older than it gives way to it.
import type { ModelInfo } from '../../src-shared/contract.js';

export class ModelEvents {
  private readonly last = new Map<string, { at: number; model: ModelInfo }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** An event for `model` came now. */
  note(model: ModelInfo): void {
    this.last.set(model.name, { at: this.now(), model });
  }

  /** The moment a fetch of the list begins (pass it to merge). */
  mark(): number {
    return this.now();
  }

  /**
   * The fetched list with each entry whose model had an event since `began` replaced by that event
   * (the list's VRAM figure kept while it is the same process: events don't carry it).
   */
  merge(list: ModelInfo[], began: number): ModelInfo[] {
    return list.map((fetched) => {
      const last = this.last.get(fetched.name);
      if (!last || last.at < began) return fetched;
      const model = last.model;
      const vramMb = model.vramMb ?? (fetched.pid !== null && fetched.pid === model.pid ? fetched.vramMb : null);
      return { ...model, vramMb };
    });
  }
}
