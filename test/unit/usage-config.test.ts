// #14's config keys: program.usage, per-model pricing, and named API keys — parsed with
// file:line:col errors — and the guard telling which key's name let a request in.
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_USAGE, formatIssue, parseConfigText } from '../../src-shared/config.js';
import { keyNameOf, keyNameOfHeaders, LOCAL_KEY_NAME, RequestGuard } from '../../src-main/core/security/guard.js';

const config = (program: string, model = '') => `program:\n${program}Local-Models:\n  m:\n    port: 9000\n${model}    P:\n      command: x\n`;
const errorsOf = (text: string) => {
  const result = parseConfigText(text, 'config.yaml');
  return result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e));
};
const parsed = (text: string) => {
  const result = parseConfigText(text, 'config.yaml');
  if (!result.ok) throw new Error(result.errors.map((e) => formatIssue('config.yaml', e)).join('\n'));
  return result;
};

describe('config: program.usage', () => {
  it('defaults on; off, false and a mapping', () => {
    expect(parsed(config('')).config.program.usage).toEqual(DEFAULT_USAGE);
    expect(parsed(config('  usage: off\n')).config.program.usage).toBeNull();
    expect(parsed(config('  usage: false\n')).config.program.usage).toBeNull();
    expect(parsed(config('  usage:\n    keep_days: 30\n    max_mb: 50\n    currency: EUR\n')).config.program.usage).toEqual({ keepDays: 30, maxMb: 50, currency: 'EUR' });
    expect(parsed(config('  usage:\n    keep_days: 7\n')).config.program.usage).toEqual({ ...DEFAULT_USAGE, keepDays: 7 });
  });

  it('errors point at the key', () => {
    expect(errorsOf(config('  usage: sometimes\n'))).toEqual(['config.yaml:2:10 program.usage: expected off, or a mapping with keep_days, max_mb and/or currency, got "sometimes"']);
    expect(errorsOf(config('  usage:\n    max_mb: 0\n'))).toEqual(['config.yaml:3:13 program.usage.max_mb: expected a number of megabytes ≥ 1, got 0']);
    expect(errorsOf(config('  usage:\n    keep_dayz: 3\n'))[0]).toMatch(/^config\.yaml:3:\d+ program\.usage\.keep_dayz: unknown key "keep_dayz"; did you mean "keep_days"\?/);
  });
});

describe('config: pricing', () => {
  const model = (pricing: string) => config('', `    pricing:\n${pricing}`);

  it('tiers (the last open-ended), hourly, or one flat tier', () => {
    const tiers = parsed(model('      tiers:\n        - {up_to_tokens: 1000000, input_per_1m: 1, output_per_1m: 2}\n        - {input_per_1m: 0.5, output_per_1m: 1}\n      hourly: 0.8\n'));
    expect(tiers.config.models[0]!.pricing).toEqual({
      tiers: [
        { upToTokens: 1_000_000, inputPer1m: 1, outputPer1m: 2 },
        { upToTokens: null, inputPer1m: 0.5, outputPer1m: 1 },
      ],
      hourly: 0.8,
    });
    expect(parsed(model('      input_per_1m: 0.2\n      output_per_1m: 0.6\n')).config.models[0]!.pricing).toEqual({ tiers: [{ upToTokens: null, inputPer1m: 0.2, outputPer1m: 0.6 }], hourly: null });
    expect(parsed(model('      hourly: 1.5\n')).config.models[0]!.pricing).toEqual({ tiers: [], hourly: 1.5 });
    expect(parsed(config('')).config.models[0]!.pricing).toBeUndefined();
  });

  it('thresholds must rise, only the last tier is open-ended, prices are ≥ 0', () => {
    expect(errorsOf(model('      tiers:\n        - {up_to_tokens: 1000}\n        - {up_to_tokens: 500}\n        - {input_per_1m: 1}\n'))).toEqual([
      'config.yaml:8:26 Local-Models.m.pricing.tiers[1].up_to_tokens: expected more than the tier before (1000), got 500',
    ]);
    expect(errorsOf(model('      tiers:\n        - {input_per_1m: 1}\n        - {input_per_1m: 2}\n'))[0]).toContain('Local-Models.m.pricing.tiers[0]: every tier but the last needs up_to_tokens');
    expect(errorsOf(model('      tiers:\n        - {up_to_tokens: 5, input_per_1m: 1}\n'))[0]).toContain('tiers[0].up_to_tokens: the last tier is open-ended');
    expect(errorsOf(model('      hourly: -1\n'))).toEqual(['config.yaml:6:15 Local-Models.m.pricing.hourly: expected a price per hour ≥ 0, got -1']);
  });
});

describe('config: named API keys', () => {
  const KEY_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
  const KEY_B = 'bbbbbbbbbbbbbbbbbbbbbbbb';

  it('bare keys stay valid and are named by position; {name, key} entries keep their name', () => {
    const program = parsed(config(`  api_keys:\n    - ${KEY_A}\n    - name: laptop\n      key: ${KEY_B}\n`)).config.program;
    expect(program.apiKeys).toEqual([KEY_A, KEY_B]);
    expect(program.apiKeyNames).toEqual(['key-1', 'laptop']);
  });

  it('errors never quote a key and point at the field', () => {
    const errors = errorsOf(config('  api_keys:\n    - {name: laptop, key: "has space"}\n    - {key: xxxxxxxxxxxxxxxxxxxx}\n    - {name: x, key: yyyyyyyyyyyyyyyyyyyy, note: 1}\n'));
    expect(errors).toEqual([
      'config.yaml:3:27 program.api_keys[0].key: expected a non-empty key of printable characters without spaces',
      'config.yaml:4:7 program.api_keys[1].name: expected a name of 1-64 printable characters, e.g. "laptop"',
      'config.yaml:5:50 program.api_keys[2].note: unknown field "note": a named key has only name and key',
    ]);
    expect(errors.join('\n')).not.toContain('has space');
    expect(errorsOf(config(`  api_keys:\n    - ${KEY_A}\n    - {name: key-1, key: ${KEY_B}}\n`))).toEqual([
      'config.yaml:4:14 program.api_keys[1].name: the key name "key-1" is already used by key 1',
    ]);
  });
});

describe('the guard names the key that let a request in', () => {
  const KEY_A = 'aaaaaaaaaaaaaaaaaaaaaaaa';
  const KEY_B = 'bbbbbbbbbbbbbbbbbbbbbbbb';
  const program = parsed(config(`  api_keys:\n    - ${KEY_A}\n    - {name: laptop, key: ${KEY_B}}\n`)).config.program;
  const guard = new RequestGuard({ program: () => program, boundHost: '127.0.0.1', localKey: 'the-local-key-0123456789' });
  const exchange = (headers: Record<string, string>) => {
    const req = { headers: { host: '127.0.0.1:8080', ...headers }, method: 'POST', socket: { remoteAddress: '127.0.0.1' } } as unknown as http.IncomingMessage;
    const res = { headersSent: false, destroyed: false, writeHead() {}, end() {}, setHeader() {} } as unknown as http.ServerResponse;
    return { req, res };
  };

  it('node:http requests: keyNameOf', () => {
    const named = exchange({ authorization: `Bearer ${KEY_B}` });
    expect(guard.admit(named.req, named.res, 'v1')).toBe(true);
    expect(keyNameOf(named.req)).toBe('laptop');
    const bare = exchange({ 'x-api-key': KEY_A });
    expect(guard.admit(bare.req, bare.res, 'api')).toBe(true);
    expect(keyNameOf(bare.req)).toBe('key-1');
    const local = exchange({ authorization: 'Bearer the-local-key-0123456789' });
    expect(guard.admit(local.req, local.res, 'v1')).toBe(true);
    expect(keyNameOf(local.req)).toBe(LOCAL_KEY_NAME);
    const wrong = exchange({ authorization: 'Bearer nope-nope-nope-nope' });
    expect(guard.admit(wrong.req, wrong.res, 'v1')).toBe(false);
    expect(keyNameOf(wrong.req)).toBeNull();
  });

  it('the fast path: keyNameOfHeaders on the headers given to quickAdmit', () => {
    const headers = { host: '127.0.0.1:8080', authorization: `Bearer ${KEY_B}` };
    expect(guard.quickAdmit(headers, '127.0.0.1')).toBe(true);
    expect(keyNameOfHeaders(headers)).toBe('laptop');
    const refused = { host: '127.0.0.1:8080', authorization: 'Bearer nope' };
    expect(guard.quickAdmit(refused, '127.0.0.1')).toBe(false);
    expect(keyNameOfHeaders(refused)).toBeNull();
  });

  it('no keys configured: no name', () => {
    const open = parsed(config('')).config.program;
    const openGuard = new RequestGuard({ program: () => open, boundHost: '127.0.0.1', localKey: 'local-local-local-local' });
    const headers = { host: '127.0.0.1:8080' };
    expect(openGuard.quickAdmit(headers, '127.0.0.1')).toBe(true);
    expect(keyNameOfHeaders(headers)).toBeNull();
  });
});
