// The "model" of a request body, read without JSON.parse. The fast path only needs that one string,
// but JSON.parse builds every message object of the body first; on a router woken from idle that
// costs about 25 µs of the request's way to the engine. This scanner checks the whole body against
// the JSON grammar (RFC 8259) as bytes, allocates nothing but the name, and answers only when it is
// sure: the body is one valid JSON object whose top-level "model" is a plain ASCII string that
// modelOf() would accept. Anything else (an escape or other non-ASCII in the name, bad JSON, a
// missing or odd model) gives undefined, and the caller asks modelOf(), which parses and names the error.

import { MAX_MODEL_NAME } from '../../../src-shared/proxied-request.js';

/** The longest model name a request may give (modelOf's bound too: the OpenAPI schema's). */
export { MAX_MODEL_NAME };

const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
/** The characters a backslash may escape: " \ / b f n r t (u is handled apart). */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;
const MODEL = [0x6d, 0x6f, 0x64, 0x65, 0x6c]; // model
const STREAM = [0x73, 0x74, 0x72, 0x65, 0x61, 0x6d]; // stream
const STREAM_OPTIONS = [...STREAM, 0x5f, 0x6f, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x73]; // stream_options
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** Container kinds by depth (one scan at a time: JavaScript runs it to the end). */
const stack = new Uint8Array(MAX_DEPTH);
/** What the last scanString saw. */
let escaped = false;
let nonAscii = false;
/** Whether the key scanKey read last is the top-level "model". */
let isModelKey = false;
/** Whether the key scanKey read last is the top-level "stream". */
let isStreamKey = false;

/**
 * What quickModelOf() saw besides the model, for the usage capture: whether the top-level "stream"
 * is true, and whether there is a top-level "stream_options" (or a top-level key with an escape,
 * which might spell either: then the body is left as it is).
 */
export const quickStreamInfo = { stream: false, streamOptions: false };

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && WS[b[i]!] === 1) i++;
  return i;
}

/** At an opening quote: the index past the closing one, or -1. */
function scanString(b: Uint8Array, i: number): number {
  escaped = false;
  nonAscii = false;
  for (i++; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c >= 0x80) nonAscii = true;
    else if (c === BACKSLASH) {
      escaped = true;
      const e = b[++i];
      if (e === 0x75) {
        // \uXXXX
        if (i + 4 >= b.length || HEX[b[i + 1]!] !== 1 || HEX[b[i + 2]!] !== 1 || HEX[b[i + 3]!] !== 1 || HEX[b[i + 4]!] !== 1) return -1;
        i += 4;
      } else if (e === undefined || ESCAPE[e] !== 1) return -1;
    }
  }
  return -1;
}

/** At a number's first byte: the index past it, or -1. */
function scanNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (b[i]! > ZERO && b[i]! <= NINE) while (b[i]! >= ZERO && b[i]! <= NINE) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!(b[i]! >= ZERO && b[i]! <= NINE)) return -1;
    while (b[i]! >= ZERO && b[i]! <= NINE) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === MINUS) i++;
    if (!(b[i]! >= ZERO && b[i]! <= NINE)) return -1;
    while (b[i]! >= ZERO && b[i]! <= NINE) i++;
  }
  return i;
}

function literalAt(b: Uint8Array, i: number, word: readonly number[]): boolean {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

/** At a member's key (after `{` or `,` and spaces): the index of its value, or -1. */
function scanKey(b: Uint8Array, i: number, top: boolean): number {
  if (b[i] !== QUOTE) return -1;
  const end = scanString(b, i);
  if (end < 0) return -1;
  // A top-level key with an escape may still spell "model" ("mod\u0065l"): decoded (rare).
  if (top) {
    const length = end - i - 2;
    if (escaped) {
      isModelKey = JSON.parse(Buffer.from(b.buffer, b.byteOffset + i, end - i).toString('utf8')) === 'model';
      quickStreamInfo.streamOptions = true;
    } else {
      isModelKey = length === MODEL.length && literalAt(b, i + 1, MODEL);
      isStreamKey = length === STREAM.length && literalAt(b, i + 1, STREAM);
      if (length === STREAM_OPTIONS.length && literalAt(b, i + 1, STREAM_OPTIONS)) quickStreamInfo.streamOptions = true;
    }
  }
  i = skipWs(b, end);
  if (b[i] !== COLON) return -1;
  return skipWs(b, i + 1);
}

/** Where the name quickModelOf() last returned sits in its body: the bytes between its quotes. */
const quickModelSpan = { start: -1, end: -1 };

/**
 * `body` (a JSON object with a top-level "model", as the router has checked) with that model set to
 * `name`. Where quickModelOf() can place the name, the new one is spliced in and every other byte
 * stays as sent; otherwise (an escaped name, say) the body is parsed and written anew.
 */
export function withModel(body: Buffer, name: string): Buffer {
  if (quickModelOf(body) !== undefined) {
    const { start, end } = quickModelSpan;
    return Buffer.concat([body.subarray(0, start), Buffer.from(JSON.stringify(name).slice(1, -1), 'utf8'), body.subarray(end)]);
  }
  const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  parsed['model'] = name;
  return Buffer.from(JSON.stringify(parsed), 'utf8');
}

/** The body's top-level "model" when the body is valid JSON and the name is plain; else undefined. */
export function quickModelOf(b: Uint8Array): string | undefined {
  let i = skipWs(b, 0);
  if (b[i] !== LBRACE) return undefined;
  let depth = 0;
  let modelStart = -1;
  let modelEnd = -1;
  let modelOk = false;
  isModelKey = false;
  isStreamKey = false;
  quickStreamInfo.stream = false;
  quickStreamInfo.streamOptions = false;
  for (;;) {
    // i is at the start of a value; isModelKey says whether it is the top-level "model".
    const c = b[i];
    const forModel = isModelKey;
    const forStream = isStreamKey;
    isModelKey = false;
    isStreamKey = false;
    let closed = true;
    if (c === LBRACE || c === LBRACKET) {
      if (depth === MAX_DEPTH) return undefined;
      stack[depth++] = c;
      i = skipWs(b, i + 1);
      if (b[i] === (c === LBRACE ? RBRACE : RBRACKET)) {
        depth--;
        i++;
      } else {
        closed = false;
        if (c === LBRACE) {
          i = scanKey(b, i, depth === 1);
          if (i < 0) return undefined;
        }
      }
    } else if (c === QUOTE) {
      const start = i + 1;
      i = scanString(b, i);
      if (i < 0) return undefined;
      if (forModel) {
        modelStart = start;
        modelEnd = i - 1;
        modelOk = !escaped && !nonAscii;
      }
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      const word = c === 0x74 ? TRUE : c === 0x66 ? FALSE : NULL;
      if (!literalAt(b, i, word)) return undefined;
      i += word.length;
      if (forStream) quickStreamInfo.stream = c === 0x74;
    } else {
      i = scanNumber(b, i);
      if (i < 0) return undefined;
    }
    if (forModel && c !== QUOTE) modelOk = false; // a number, object...: modelOf names the error
    if (forStream && c !== 0x74 && c !== 0x66 && c !== 0x6e) quickStreamInfo.stream = false;
    if (!closed) continue;
    // After a value: closing brackets, then a comma (and the next member or element) or the end.
    for (;;) {
      i = skipWs(b, i);
      if (depth === 0) {
        const name = i === b.length && modelOk ? modelName(b, modelStart, modelEnd) : undefined;
        if (name !== undefined) {
          quickModelSpan.start = modelStart;
          quickModelSpan.end = modelEnd;
        }
        return name;
      }
      const open = stack[depth - 1];
      if (b[i] === (open === LBRACE ? RBRACE : RBRACKET)) {
        depth--;
        i++;
        continue;
      }
      if (b[i] !== COMMA) return undefined;
      i = skipWs(b, i + 1);
      if (open === LBRACE) {
        i = scanKey(b, i, depth === 1);
        if (i < 0) return undefined;
      }
      break;
    }
  }
}

/** What modelOf() accepts: not blank, at most MAX_MODEL_NAME characters (ASCII: one byte each). */
function modelName(b: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > MAX_MODEL_NAME) return undefined;
  let blank = true;
  for (let i = start; i < end; i++) if (b[i] !== 0x20) blank = false;
  if (blank) return undefined;
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}
