import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script without types
import { nodeProblem } from '../../scripts/check-node.mjs';

describe('npm test on an older Node', () => {
  it('says at once which Node it needs and how to get it', () => {
    const problem = (nodeProblem as (v: string) => string | null)('20.20.2');
    expect(problem).toContain('npm test needs Node 24 or newer');
    expect(problem).toContain('this is Node 20.20.2');
    expect(problem).toContain('bash .ci/run');
    expect((nodeProblem as (v: string) => string | null)('24.0.0')).toBeNull();
  });

  it('passes on the Node running the tests', () => {
    const run = spawnSync(process.execPath, ['scripts/check-node.mjs'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
