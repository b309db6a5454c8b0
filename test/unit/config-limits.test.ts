// Hostile config.yaml text (issue #12, item 4): an alias bomb, deep nesting, a huge file and a
// mapping of very many keys are refused or parsed in linear time, each with a clear line:col issue.
import { describe, expect, it } from 'vitest';
import { configLimitIssue, formatIssue, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, parseConfigText } from '../../src-shared/config.js';

function errors(text: string): string[] {
  const result = parseConfigText(text, 'config.yaml');
  return result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e));
}

function timed<T>(run: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started };
}

const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'Local-Models: *g',
  '',
].join('\n');

describe('parseConfigText: hostile YAML', () => {
  it('reports an alias bomb as an issue at the first alias (the yaml library throws a ReferenceError)', () => {
    const result = parseConfigText(ALIAS_BOMB);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatchObject({ limit: 'aliases', line: 2, col: 8 });
    expect(errors(ALIAS_BOMB)).toEqual([
      'config.yaml:2:8 YAML aliases (*name) repeat their anchors (&name) too often: expanding them would make the config enormous (an "alias bomb")',
    ]);
  });

  it('still reads a config that uses a few anchors and aliases', () => {
    const text = 'Local-Models:\n  a:\n    port: 10001\n    P: &p { command: node }\n  b:\n    port: 10002\n    P: *p\n';
    const result = parseConfigText(text);
    expect(result.ok && result.config.models.map((m) => m.profiles[0]!.command)).toEqual(['node', 'node']);
  });

  it.each([
    ['flow brackets', `program: ${'['.repeat(100_000)}`, 1, 10 + MAX_CONFIG_DEPTH],
    ['flow mappings', `program: ${'{a: '.repeat(1000)}`, 1, 10 + 4 * MAX_CONFIG_DEPTH],
    ['compact nested sequences', `program:\n  ${'- '.repeat(100)}x\n`, 2, 1 + 2 * MAX_CONFIG_DEPTH],
    ['indentation', Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'), MAX_CONFIG_DEPTH + 2, MAX_CONFIG_DEPTH + 2],
  ])('refuses nesting deeper than the bound at once: %s', (_name, text, line, col) => {
    const { value, ms } = timed(() => parseConfigText(text));
    expect(value.ok).toBe(false);
    expect(!value.ok && value.errors).toEqual([expect.objectContaining({ limit: 'depth', line, col })]);
    expect(!value.ok && value.errors[0]!.message).toBe(
      `nested more than ${MAX_CONFIG_DEPTH} levels deep (indentation, "- - -" or [ / { brackets); a real config needs fewer than 10`,
    );
    expect(ms).toBeLessThan(2000); // 300k levels blocked the router for seconds
  });

  it('counts only the brackets the parser sees: not in quotes, comments or block scalars', () => {
    const deep = '['.repeat(200);
    const text = [
      'program:',
      `  host: "${deep}"`,
      `  log_dir: '${deep}'`,
      `  # ${deep}`,
      '  device_plugin_dir: |',
      `    ${deep}`,
      `  log_level: info # ${deep}`,
      'Local-Models: {}',
      '',
    ].join('\n');
    expect(configLimitIssue(text)).toBeNull();
    expect(parseConfigText(text).ok).toBe(true);
  });

  it('accepts nesting a real config has, with lists and flow collections', () => {
    const text = `Local-Models:\n  m:\n    port: 10001\n    P:\n      command: node\n      args: [${'[x], '.repeat(5)}y]\n      env: { A: { B: 1 } }\n`;
    expect(configLimitIssue(text)).toBeNull();
  });

  it(`refuses a text over ${MAX_CONFIG_BYTES / 1024} KB before parsing it, at the line where it crosses the bound`, () => {
    const line = `# ${'x'.repeat(1021)}\n`; // 1 KB a line
    const text = line.repeat(600);
    const { value, ms } = timed(() => parseConfigText(text));
    expect(!value.ok && value.errors).toEqual([expect.objectContaining({ limit: 'size', line: 257, col: 1 })]);
    expect(!value.ok && value.errors[0]!.message).toBe('the config is 600 KB; LLM Manager reads at most 256 KB (a real one is a few KB; the limit is crossed here)');
    expect(ms).toBeLessThan(1000);
    // Counted in UTF-8 bytes, as the file is stored: 100k "é" are 200 KB.
    expect(configLimitIssue(`# ${'é'.repeat(100_000)}\n`)).toBeNull();
    expect(configLimitIssue(`# ${'é'.repeat(140_000)}\n`)).toMatchObject({ limit: 'size' });
  });

  it('checks the keys of a huge mapping in linear time (the library check is quadratic: 40k keys took 35 s)', () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `k${i.toString(36)}: 1\n`).join('');
    const text = `program:\n  port: 8080\nLocal-Models: {}\n${keys}`;
    expect(text.length).toBeLessThan(MAX_CONFIG_BYTES);
    const { value, ms } = timed(() => parseConfigText(text));
    expect(value.ok && value.warnings.length).toBe(30_000); // each an unknown key, each located
    expect(ms).toBeLessThan(5000);
    // The same with one duplicate at the end.
    const timedDup = timed(() => errors(`${text}k0: 2\n`));
    expect(timedDup.value).toEqual(['config.yaml:30004:1 YAML syntax: duplicate key "k0" (keys of one mapping must be unique)']);
    expect(timedDup.ms).toBeLessThan(5000);
  });

  it('reports duplicate keys as the library did: same value, at the later key, quoted ones as written', () => {
    expect(errors('program:\n  port: 1\n  "port": 2\n  1: a\n  "1": b\n  1.0: c\nLocal-Models: {}\n')).toEqual([
      'config.yaml:3:3 YAML syntax: duplicate key "port" (keys of one mapping must be unique)',
      'config.yaml:6:3 YAML syntax: duplicate key "1.0" (keys of one mapping must be unique)',
    ]);
    expect(errors('Local-Models: {a: 1, b: 2, a: 3}\n')).toEqual(['config.yaml:1:28 YAML syntax: duplicate key "a" (keys of one mapping must be unique)']);
  });
});
