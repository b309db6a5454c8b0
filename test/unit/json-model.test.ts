// quickModelOf() may only ever answer what modelOf() (JSON.parse) would: checked on hand-picked
// bodies, on random valid JSON, and on thousands of corrupted bodies. withModel() (the rewrite for
// served_model_name) changes the model and nothing else.
import { describe, expect, it } from 'vitest';
import { quickModelOf, withModel } from '../../src-main/core/router/json-model.js';
import { modelOf } from '../../src-main/core/router/openai.js';

const buf = (text: string) => Buffer.from(text, 'utf8');

/** What modelOf says: the name, or the error's code. */
function slow(body: Buffer): string {
  try {
    return `model:${modelOf(body)}`;
  } catch (err) {
    return `error:${(err as { code?: string }).code ?? 'none'}`;
  }
}

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const CHAT = JSON.stringify({
  model: 'llama-3.1-8b',
  messages: [
    { role: 'system', content: 'You are "helpful".\nBe brief \\ kind; emoji 🙂 and ü.' },
    { role: 'user', content: 'Hi' },
  ],
  temperature: 0.7,
  top_p: 1e-3,
  max_tokens: 128,
  stream: true,
  stop: null,
  logit_bias: { '50256': -100 },
  tools: [],
  response_format: {},
});

describe('quickModelOf', () => {
  it('reads the model of ordinary request bodies, spaced any way JSON allows', () => {
    expect(quickModelOf(buf(CHAT))).toBe('llama-3.1-8b');
    expect(quickModelOf(buf(JSON.stringify(JSON.parse(CHAT), null, 2)))).toBe('llama-3.1-8b');
    expect(quickModelOf(buf(' \r\n\t{ "input" : ["a", "b"] , "model" :"embed" }\n'))).toBe('embed');
    expect(quickModelOf(buf('{"model":"a","n":[-0,0.5,12e3,-1.25E-7,1e+2,[[]],{},true,false,null]}'))).toBe('a');
    expect(quickModelOf(buf('{"x":"\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t","model":"gpt-3.5-turbo"}'))).toBe('gpt-3.5-turbo');
    // The last of repeated keys wins, as in JSON.parse.
    expect(quickModelOf(buf('{"model":"first","model":"second"}'))).toBe('second');
    // An escaped key that spells model is model; a nested "model" is not the request's.
    expect(quickModelOf(buf('{"mod\\u0065l":"esc","x\\"y":1}'))).toBe('esc');
    expect(quickModelOf(buf('{"meta":{"model":"inner"},"model":"outer"}'))).toBe('outer');
  });

  it('gives up (undefined) where modelOf must decide: bad JSON, no or odd model, escapes', () => {
    for (const text of [
      '',
      '   ',
      '[]',
      '"model"',
      '{}',
      '{"messages":[]}',
      '{"model":""}',
      '{"model":"   "}',
      '{"model":42}',
      '{"model":null}',
      '{"model":["a"]}',
      '{"model":{"name":"a"}}',
      '{"model":"a","model":1}',
      `{"model":"${'m'.repeat(257)}"}`,
      '{"model":"gpt\\u002d4"}', // an escape in the name: JSON.parse reads "gpt-4"
      '{"model":"ü"}', // not ASCII: decoded by JSON.parse
      '{"model":"a",}',
      '{"model":"a"',
      '{"model":"a"}}',
      '{"model":"a"} x',
      '{"model":"a","n":01}',
      '{"model":"a","n":1.}',
      '{"model":"a","n":.5}',
      '{"model":"a","n":1e}',
      '{"model":"a","n":+1}',
      '{"model":"a","n":tru}',
      '{"model":"a","n":NaN}',
      '{"model":"a","s":"tab\there"}',
      '{"model":"a","s":"\\x41"}',
      '{"model":"a","s":"\\u12"}',
      "{'model':'a'}",
      '{model:"a"}',
      '\ufeff{"model":"a"}',
      `${'['.repeat(100)}${']'.repeat(100)}`,
      `{"model":"a","deep":${'['.repeat(70)}${']'.repeat(70)}}`,
    ]) {
      expect(quickModelOf(buf(text)), text).toBeUndefined();
    }
    // And where it gives up, modelOf still answers as before.
    expect(slow(buf('{"model":"gpt\\u002d4"}'))).toBe('model:gpt-4');
    expect(slow(buf('{"model":"a",}'))).toBe('error:invalid_json');
  });

  it('agrees with JSON.parse on random valid JSON', () => {
    const next = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const ws = () => pick(['', '', ' ', '\n  ', '\t', '\r\n']);
    const strings = ['', 'plain', 'quote " and \\ backslash', 'ctl \u0001\u001f', 'üñí 🙂', '\u2028', 'model'];
    const numbers = ['0', '-0', '7', '-12', '3.25', '1e9', '-2.5E-3', '6e+2', '10.0'];
    const value = (depth: number): string => {
      const r = next();
      if (depth > 4 || r < 0.35) return pick([...numbers, 'true', 'false', 'null', JSON.stringify(pick(strings))]);
      if (r < 0.65) return `[${ws()}${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
      const members = Array.from({ length: Math.floor(next() * 4) }, () => `${JSON.stringify(pick(strings))}${ws()}:${ws()}${value(depth + 1)}`);
      return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
    };
    let answered = 0;
    for (let n = 0; n < 2000; n++) {
      const name = pick(['gpt-4o', 'llama.cpp/Qwen2.5-7B:Q4_K_M', 'a b', 'x']);
      const members = Array.from({ length: Math.floor(next() * 5) }, () => `${JSON.stringify(pick(strings.filter((s) => s !== 'model')))}${ws()}:${ws()}${value(1)}`);
      members.splice(Math.floor(next() * (members.length + 1)), 0, `"model"${ws()}:${ws()}${JSON.stringify(name)}`);
      const text = `${ws()}{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
      const quick = quickModelOf(buf(text));
      expect(quick, text).toBe(name);
      expect(slow(buf(text))).toBe(`model:${name}`);
      const served = 'Qwen/Qwen2.5 "7B" ü';
      expect(JSON.parse(withModel(buf(text), served).toString('utf8')), text).toEqual({ ...JSON.parse(text), model: served });
      answered++;
    }
    expect(answered).toBe(2000);
  });

  it('never answers what modelOf would not, on thousands of corrupted bodies', () => {
    const next = rng(11);
    const seeds = [CHAT, '{"model":"m","input":["a",1,true,null,{"k":-2.5e3}]}', '{ "model" : "m" , "s" : "\\u0041\\n" }'];
    const bytes = [...'{}[]",:\\ \n0123456789.eE+-tfnrulsabmodelx', '\u0000', '\u00ff'];
    let answered = 0;
    for (let n = 0; n < 20_000; n++) {
      const text = [...pickSeed()];
      const edits = 1 + Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * (text.length + 1));
        const what = next();
        if (what < 0.33) text.splice(at, 1);
        else if (what < 0.66) text.splice(at, 0, bytes[Math.floor(next() * bytes.length)]!);
        else text.splice(at, 1, bytes[Math.floor(next() * bytes.length)]!);
      }
      const body = buf(text.join(''));
      const quick = quickModelOf(body);
      if (quick === undefined) continue;
      answered++;
      expect(slow(body), text.join('')).toBe(`model:${quick}`);
    }
    // Many corruptions (inside strings, say) leave valid JSON: those are answered, and checked.
    expect(answered).toBeGreaterThan(1000);

    function pickSeed(): string {
      return seeds[Math.floor(next() * seeds.length)]!;
    }
  });
});

describe('withModel', () => {
  it('splices the new name in and leaves every other byte as sent', () => {
    const body = (name: string) => `{ "messages": [{"role":"user","content":"the \\"model\\": 🙂"}],\n  "model" :  ${JSON.stringify(name)}, "stream": true }`;
    expect(JSON.parse(body('gpt-3.5-turbo')).model).toBe('gpt-3.5-turbo');
    for (const served of ['Qwen/Qwen2.5-7B-Instruct', 'a "quoted" \\ name', 'ünï 🙂', 'x']) {
      expect(withModel(buf(body('gpt-3.5-turbo')), served).toString('utf8')).toBe(body(served));
    }
  });

  it('parses and rewrites a body whose name it cannot place (an escape in it), keeping the rest', () => {
    const text = '{"model":"gpt\\u002d3.5","messages":[{"role":"user","content":"hi"}],"n":1}';
    expect(JSON.parse(text).model).toBe('gpt-3.5');
    expect(JSON.parse(withModel(buf(text), 'served').toString('utf8'))).toEqual({ model: 'served', messages: [{ role: 'user', content: 'hi' }], n: 1 });
  });
});
