// The window's model list: a fetched list never puts back a state older than an event that came
// while the fetch was on its way (src-renderer/api/model-events.ts).
import { describe, expect, it } from 'vitest';
import { ModelEvents } from '../../src-renderer/api/model-events.js';
import { modelInfo } from '../helpers/model-info.js';

describe('model events and the fetched list', () => {
  it('an event that came while the list was fetched wins over the fetched entry; one before it does not', () => {
    let now = 0;
    const events = new ModelEvents(() => now);
    now = 1;
    events.note(modelInfo('old', { state: 'starting' }));
    now = 5;
    const began = events.mark();
    now = 7;
    // The server read the list before this event was sent; the list comes back after it.
    events.note(modelInfo('fresh', { state: 'ready', pid: 42 }));
    now = 9;
    const merged = events.merge(
      [modelInfo('old', { state: 'ready', pid: 7 }), modelInfo('fresh', { state: 'starting', pid: 42, vramMb: 3100 }), modelInfo('quiet')],
      began,
    );
    expect(merged.map((m) => [m.name, m.state])).toEqual([
      ['old', 'ready'],
      ['fresh', 'ready'],
      ['quiet', 'stopped'],
    ]);
    // The VRAM figure (events don't carry it) is kept while it is the same process.
    expect(merged[1]!.vramMb).toBe(3100);
  });

  it("the list's VRAM figure is dropped when the event is another process's", () => {
    let now = 0;
    const events = new ModelEvents(() => now);
    const began = events.mark();
    now = 1;
    events.note(modelInfo('m', { state: 'stopped', pid: null }));
    const [m] = events.merge([modelInfo('m', { state: 'ready', pid: 9, vramMb: 5000 })], began);
    expect(m).toMatchObject({ state: 'stopped', pid: null, vramMb: null });
  });
});
