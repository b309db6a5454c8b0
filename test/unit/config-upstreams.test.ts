// The config keys of #16 items 1-3: a profile's `upstream:`, `engine: ollama` and the root `peers:`,
// parsed into typed fields, with every mistake at its file:line:col, and keys never quoted.
import { describe, expect, it } from 'vitest';
import { formatIssue, parseConfigText } from '../../src-shared/config.js';
import { resolveConfigPaths } from '../../src-main/core/config/load.js';
import { launchIssue } from '../../src-main/core/models/process.js';

const parse = (text: string) => {
  const result = parseConfigText(text, 'config.yaml');
  if (!result.ok) throw new Error(result.errors.map((e) => formatIssue('config.yaml', e)).join('\n'));
  return result;
};
const errorLines = (text: string) => {
  const result = parseConfigText(text, 'config.yaml');
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors.map((e) => formatIssue('config.yaml', e));
};
const warningLines = (text: string) => parseConfigText(text, 'config.yaml').warnings.map((w) => formatIssue('config.yaml', w));

describe('upstream profiles', () => {
  it('a local profile then a remote fallback, in file order; the key and the model name kept for the proxy', () => {
    const { config } = parse(
      [
        'Local-Models:',
        '  qwen:',
        '    Local:',
        '      command: llama-server',
        '      args: ["--port", "${PORT}"]',
        '    GPU-Box:',
        '      upstream:',
        '        base_url: https://gpu-box.lan:8000/v1/',
        '        api_key: sk-remote-0123456789',
        '        model: Qwen/Qwen2.5-7B-Instruct',
      ].join('\n'),
    );
    const [local, remote] = config.models[0]!.profiles;
    expect(local!.upstream).toBeUndefined();
    expect(remote).toEqual({
      name: 'GPU-Box', requiredDevices: [], scriptPath: null, command: null, args: [], cwd: null, env: {}, memoryMb: {},
      upstream: { kind: 'openai', baseUrl: 'https://gpu-box.lan:8000/v1', apiKey: 'sk-remote-0123456789', model: 'Qwen/Qwen2.5-7B-Instruct' },
    });
    // Loaded like any other profile, and nothing to check on disk: it launches nothing.
    const loaded = resolveConfigPaths(config, '/tmp');
    expect(loaded.models[0]!.profiles[1]!.upstream).toEqual(remote!.upstream);
    expect(launchIssue(loaded.models[0]!.profiles[1]!)).toBeNull();
  });

  it.each<[string, string, string[]]>([
    ['no base_url', '      upstream: {model: x}\n', ['config.yaml:5:7 Local-Models.M.P.upstream.base_url: is required (expected an http(s) URL like "https://api.example.com/v1")']],
    ['a base_url that is no URL', '      upstream: {base_url: "gpu-box:8000"}\n', ['config.yaml:5:28 Local-Models.M.P.upstream.base_url: expected an http(s) URL like "https://api.example.com/v1", got "gpu-box:8000"']],
    ['upstream as a string', '      upstream: https://x/v1\n', ['config.yaml:5:17 Local-Models.M.P.upstream: expected a mapping with base_url (and api_key, model), got "https://x/v1"']],
    ['a command beside it', '      command: node\n      upstream: {base_url: "http://x/v1"}\n', ['config.yaml:5:7 Local-Models.M.P.command: an upstream profile launches nothing: remove "command", or remove "upstream" to launch an engine']],
  ])('%s', (_name, profile, errors) => {
    expect(errorLines(`Local-Models:\n  M:\n    port: 10001\n    P:\n${profile}`)).toEqual(errors);
  });

  it('a bad key is reported without being quoted', () => {
    const lines = errorLines('Local-Models:\n  M:\n    P:\n      upstream: {base_url: "http://x/v1", api_key: "sk secret with spaces"}\n');
    expect(lines).toEqual(['config.yaml:4:52 Local-Models.M.P.upstream.api_key: expected the key the server wants (sent as "Authorization: Bearer …"), printable characters without spaces']);
    expect(lines.join()).not.toContain('secret');
  });

  it('warns of an unknown key inside upstream, with the one it likely meant', () => {
    expect(warningLines('Local-Models:\n  M:\n    P:\n      upstream: {base_url: "http://x/v1", api_kye: k0123456789abcdef}\n')).toEqual([
      'config.yaml:4:43 Local-Models.M.P.upstream.api_kye: unknown key "api_kye" is ignored; did you mean "api_key"?',
    ]);
  });
});

describe('engine: ollama', () => {
  it('defaults to the local Ollama and keeps it loaded until stopped here', () => {
    const { config } = parse('Local-Models:\n  qwen2.5:\n    Ollama:\n      engine: ollama\n      model: qwen2.5:7b\n');
    expect(config.models[0]!.profiles[0]!.upstream).toEqual({ kind: 'ollama', baseUrl: 'http://127.0.0.1:11434', apiKey: null, model: 'qwen2.5:7b', keepAlive: null });
    // No engine profile: requests reach Ollama with the model's own name rewritten to Ollama's.
    expect(config.models[0]!.servedModelName).toBeNull();
  });

  it('takes another base_url and keep_alive as seconds or a duration', () => {
    const { config } = parse('Local-Models:\n  a:\n    O:\n      engine: Ollama\n      model: llama3.2\n      base_url: http://box:11434/\n      keep_alive: 30m\n  b:\n    O:\n      engine: ollama\n      model: x\n      keep_alive: -1\n');
    expect(config.models[0]!.profiles[0]!.upstream).toMatchObject({ baseUrl: 'http://box:11434', keepAlive: '30m' });
    expect(config.models[1]!.profiles[0]!.upstream).toMatchObject({ keepAlive: -1 });
  });

  it.each<[string, string, string[]]>([
    ['no model', '      engine: ollama\n', ['config.yaml:4:5 Local-Models.M.P.model: is required (expected an Ollama model name like "qwen2.5:7b")']],
    ['a bad keep_alive', '      engine: ollama\n      model: x\n      keep_alive: soon\n', ['config.yaml:7:19 Local-Models.M.P.keep_alive: expected seconds (a negative number keeps it loaded until stopped) or a duration like "30m" / "2h", got "soon"']],
    ['a command beside it', '      engine: ollama\n      model: x\n      command: ollama\n', ['config.yaml:7:7 Local-Models.M.P.command: Ollama runs its models itself: remove "command" (an ollama profile has model, base_url, api_key and keep_alive)']],
  ])('%s', (_name, profile, errors) => {
    expect(errorLines(`Local-Models:\n  M:\n    port: 10001\n    P:\n${profile}`)).toEqual(errors);
  });
});

describe('peers', () => {
  it('a list of nodes; the name defaults to host:port, prefer to local; absent when none', () => {
    const { config } = parse('peers:\n  - {name: desktop, url: "http://192.168.1.20:8080/", api_key: k0123456789abcdef, prefer: peer}\n  - url: http://laptop.lan:8080\nLocal-Models: {}\n');
    expect(config.peers).toEqual([
      { name: 'desktop', url: 'http://192.168.1.20:8080', apiKey: 'k0123456789abcdef', prefer: 'peer' },
      { name: 'laptop.lan:8080', url: 'http://laptop.lan:8080', apiKey: null, prefer: 'local' },
    ]);
    expect('peers' in parse('Local-Models: {}\n').config).toBe(false);
  });

  it.each<[string, string, string[]]>([
    ['not a list', 'peers: http://x:8080\n', ['config.yaml:1:8 peers: expected a list of nodes like - {name: desktop, url: "http://192.168.1.20:8080", api_key: "…"}, got "http://x:8080"']],
    ['no url', 'peers:\n  - name: a\n', ['config.yaml:2:5 peers[0].url: is required (expected an http(s) URL like "http://192.168.1.20:8080")']],
    ['a bad prefer', 'peers:\n  - {url: "http://a:1", prefer: remote}\n', ['config.yaml:2:33 peers[0].prefer: expected "local" (a model of this node wins over the peer\'s of the same name) or "peer", got "remote"']],
    ['two of one name', 'peers:\n  - {name: a, url: "http://a:1"}\n  - {name: A, url: "http://b:1"}\n', ['config.yaml:3:12 peers[1].name: the peer name "A" is already used by peers[0]; give one a name']],
    ['a key with a space', 'peers:\n  - {url: "http://a:1", api_key: "top secret"}\n', ['config.yaml:2:34 peers[0].api_key: expected the key the server wants (sent as "Authorization: Bearer …"), printable characters without spaces']],
  ])('%s', (_name, text, errors) => {
    expect(errorLines(`${text}Local-Models: {}\n`)).toEqual(errors);
  });

  it('warns of an unknown key in a peer', () => {
    expect(warningLines('peers:\n  - {url: "http://a:1", nmae: x}\nLocal-Models: {}\n')).toEqual(['config.yaml:2:25 peers[0].nmae: unknown key "nmae" is ignored; did you mean "name"?']);
  });
});
