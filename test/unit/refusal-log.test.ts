import { describe, expect, it } from 'vitest';
import { RefusalLog } from '../../src-main/core/security/refusal-log.js';

describe('RefusalLog', () => {
  it('says the first refusal at once, then one summary per window while refusals go on, then nothing', () => {
    const lines: string[] = [];
    let now = 0;
    const log = new RefusalLog({ log: (l) => lines.push(l), now: () => now, windowMs: 60_000 });
    log.refused('missing_api_key', '10.0.0.2');
    expect(lines).toEqual(['refused a request without a valid API key (missing_api_key) from 10.0.0.2']);
    for (let i = 0; i < 250; i++) log.refused(i % 5 === 0 ? 'invalid_api_key' : 'missing_api_key', `10.0.0.${i % 9}`);
    expect(lines).toHaveLength(1);
    now = 60_000;
    log.flush();
    expect(lines[1]).toBe('refused 250 more requests without a valid API key in the last 60 s (invalid_api_key 50, missing_api_key 200) from 10.0.0.0, 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4');
    // A quiet window ends the summaries; the next refusal is said at once again.
    now = 120_000;
    log.flush();
    expect(lines).toHaveLength(2);
    log.refused('invalid_api_key', undefined);
    expect(lines[2]).toBe('refused a request without a valid API key (invalid_api_key) from unknown address');
    log.close();
  });
});
