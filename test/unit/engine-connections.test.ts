import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONNECTIONS, derivedMaxConnections } from '../../src-main/core/models/connection-limit.js';
import { EngineSlots } from '../../src-main/core/router/engine-slots.js';
import { profile } from '../helpers/launch-profile.js';


describe('derivedMaxConnections', () => {
  it.each([
    [{ command: '/opt/llama/llama-server', args: ['-m', 'x.gguf', '--port', '8081'] }, 5],
    [{ command: 'llama-server', args: ['-np', '8'] }, 9],
    [{ command: 'llama-server', args: ['--parallel=2'] }, 3],
    [{ command: 'llama-server', args: ['--parallel', '-1'] }, 5],
    [{ command: 'llama-server', args: ['-np', '8', '--threads-http', '4'] }, 3],
    [{ command: 'C:\\llama\\llama-server.exe', args: [] }, 5],
    [{ command: 'vllm', args: ['serve', 'Qwen/Qwen2.5-7B'] }, DEFAULT_MAX_CONNECTIONS],
    [{ command: 'python', args: ['-m', 'sglang.launch_server'] }, DEFAULT_MAX_CONNECTIONS],
  ])('%j → %i', (launch, limit) => {
    expect(derivedMaxConnections(profile(launch))).toBe(limit);
  });

  it("reads a launch script's text", () => {
    const scripts: Record<string, string> = { '/s/qwen.sh': '#!/bin/sh\nexec ./llama-server -m qwen.gguf -c 8192 \\\n  --parallel 3 --port $PORT\n', '/s/vllm.sh': 'vllm serve x --port $PORT\n' };
    expect(derivedMaxConnections(profile({ scriptPath: '/s/qwen.sh' }), (f) => scripts[f]!)).toBe(4);
    expect(derivedMaxConnections(profile({ scriptPath: '/s/vllm.sh' }), (f) => scripts[f]!)).toBe(DEFAULT_MAX_CONNECTIONS);
    expect(derivedMaxConnections(profile({ scriptPath: '/s/missing.sh' }), () => { throw new Error('ENOENT'); })).toBe(DEFAULT_MAX_CONNECTIONS);
  });
});

describe('EngineSlots', () => {
  it('grants slots up to the limit, then in arrival order as sockets close; an idle fast-path socket is given up to a waiter', () => {
    let limit = 2;
    let idle = 1;
    const slots = new EngineSlots(() => limit, () => (idle > 0 ? (idle--, true) : false));
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(false);
    const granted: string[] = [];
    slots.wait(() => granted.push('a'));
    const cancelB = slots.wait(() => granted.push('b'));
    slots.wait(() => granted.push('c'));
    // Each wait asked the fast path for an idle socket once; there was one.
    expect(idle).toBe(0);
    expect(slots.waiting).toBe(3);
    // While someone waits, nobody jumps the queue.
    expect(slots.tryTake()).toBe(false);
    slots.release();
    expect(granted).toEqual(['a']);
    cancelB();
    slots.release();
    expect(granted).toEqual(['a', 'c']);
    expect(slots.open).toBe(2);
    // A larger limit (a saved max_connections) applies at the next release or take.
    limit = 3;
    expect(slots.tryTake()).toBe(true);
    expect(slots.open).toBe(3);
  });
});
