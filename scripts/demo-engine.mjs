#!/usr/bin/env node
// demo-engine: a stand-in for llama.cpp's llama-server, used by tests and benchmarks.
// Plain Node (ESM, node: built-ins only); answers deterministically, loads in no time.
//
// Usage: node scripts/demo-engine.mjs [flags]
//   --port N                  listen port; env PORT, then LLM_PORT; default 8081 (0 = any free port)
//   --host ADDR               listen address; env DEMO_HOST; default 127.0.0.1
//   --model NAME              model id in responses; env MODEL_NAME; default "demo"
//   --load-ms N               answer 503 "Loading model" for N ms after listening; env DEMO_LOAD_MS; default 300
//   --tokens-per-second N     pace of streamed tokens, 0 = no delay; env DEMO_TPS; default 50
//   --stream-delay-ms N       fixed delay between streamed tokens, overrides the tps pace; env DEMO_STREAM_DELAY_MS
//   --max-tokens-default N    tokens generated when a request sets no max_tokens; env DEMO_MAX_TOKENS_DEFAULT; default 16
//   --embedding-dim N         embedding vector size; env DEMO_EMBEDDING_DIM; default 8
//   --crash-after N           the (N+1)-th completion/embedding/rerank request makes the process exit(3) mid-request
//                             (a stream gets its first chunks, then dies); env DEMO_CRASH_AFTER
//   --exit-before-ready CODE  log "error: failed to load model" to stderr and exit with CODE after load-ms/2,
//                             before /health ever answers 200; env DEMO_EXIT_BEFORE_READY
//   --ignore-sigterm          log "ignoring SIGTERM" and keep running (only SIGKILL stops it); env DEMO_IGNORE_SIGTERM=1
//   --served-names A,B        as vLLM's --served-model-name: a request naming another model gets 404
//                             "The model `X` does not exist."; env DEMO_SERVED_NAMES; default: any name
//   --api-key KEY             as llama-server: completion, embedding and rerank requests need "Authorization: Bearer KEY"
//                             (401 otherwise); /health and /v1/models stay open
//   --silent-ready            print nothing when ready (no "listening" line): readiness is known only from /health;
//                             env DEMO_SILENT_READY=1
//   --ready-file PATH         once load-ms is over, go on loading until PATH exists (for tests that decide when an
//                             engine turns ready); env DEMO_READY_FILE
//   --listen-when-ready       bind the port only once loaded (as a server that loads before it listens: probes are
//                             refused, never answered 503); env DEMO_LISTEN_WHEN_READY=1
//   --times-file PATH         for benchmarks: append to PATH the moments (epoch ms, fractional) the process started,
//                             turned ready, got SIGTERM and exited, a line each: "start T", "ready T", "term T", "exit T";
//                             and, once ready, when its first connection came ("ready-connection T") and its first
//                             200 to GET /health went out ("ready-health T"): the engine's own time to answer it;
//                             its first model request's arrival and answer ("first-request T", "first-answer T");
//                             and its pid ("pid N", not a moment) after "start"
//   --echo                    a chat answer is the last user message itself, whitespace and all (a word a token, up
//                             to max_tokens), instead of "Echo: <first words> token1 …"; env DEMO_ECHO=1
//   --quiet                   no log line per request; env DEMO_QUIET=1
//   --timings                 as llama-server: answers carry "timings" (prompt_n, cache_n, predicted_n, predicted_ms,
//                             predicted_per_second …) in a plain answer and in a stream's last event; env DEMO_TIMINGS=1
//   --help                    print this text
// Flags win over env vars. Unknown flags (say, llama-server's own) are reported and ignored.
//
// Endpoints: GET /health, GET /v1/models, POST /v1/chat/completions, POST /v1/completions,
//            POST /v1/embeddings, POST /v1/rerank (also /rerank and /v1/reranking).

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  model: { type: 'string' },
  'load-ms': { type: 'string' },
  'tokens-per-second': { type: 'string' },
  'stream-delay-ms': { type: 'string' },
  'max-tokens-default': { type: 'string' },
  'embedding-dim': { type: 'string' },
  'crash-after': { type: 'string' },
  'exit-before-ready': { type: 'string' },
  'ignore-sigterm': { type: 'boolean' },
  'api-key': { type: 'string' },
  'served-names': { type: 'string' },
  echo: { type: 'boolean' },
  'silent-ready': { type: 'boolean' },
  'listen-when-ready': { type: 'boolean' },
  'times-file': { type: 'string' },
  'ready-file': { type: 'string' },
  quiet: { type: 'boolean' },
  timings: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const LOADING_BODY = { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } };
const ECHO_WORDS = 5;
const CRASH_EXIT_CODE = 3;
// A crashing stream still sends the role chunk and this many tokens, so callers see "died mid-stream".
const TOKENS_BEFORE_CRASH = 2;

const config = readConfig(process.argv.slice(2), process.env);
const state = { ready: false, modelRequests: 0, nextId: 0, created: nowSeconds(), markedConnection: false, markedHealth: false, markedRequest: false };

const ROUTES = {
  'GET /health': handleHealth,
  'GET /v1/models': handleModels,
  'POST /v1/chat/completions': modelRequest(handleChat),
  'POST /v1/completions': modelRequest(handleCompletion),
  'POST /v1/embeddings': modelRequest(handleEmbeddings),
  'POST /v1/rerank': modelRequest(handleRerank),
  'POST /rerank': modelRequest(handleRerank),
  'POST /v1/reranking': modelRequest(handleRerank),
};

main();

// ---------------------------------------------------------------- startup

function main() {
  if (config.timesFile !== undefined) {
    mark('start', performance.timeOrigin);
    // Which process to watch for its exit (bench/exit-watch.ts): its last mark comes before its teardown.
    mark('pid', process.pid);
    process.on('exit', () => mark('exit'));
  }
  log(`loading model ${config.model} (${config.loadMs} ms)`);
  const server = http.createServer({ noDelay: true }, handleRequest);
  // Clients (the manager's proxy, benchmarks) reuse connections; outlive their idle timeouts.
  server.keepAliveTimeout = 65_000;
  server.on('error', (err) => die(1, `error: couldn't bind HTTP server socket, hostname: ${config.host}, port: ${config.port}: ${err.message}`));
  installSignalHandlers(server);
  if (config.timesFile !== undefined) {
    server.on('connection', () => {
      if (state.ready && !state.markedConnection) {
        state.markedConnection = true;
        mark('ready-connection');
      }
    });
  }
  if (config.listenWhenReady && config.exitBeforeReady === undefined) {
    setTimeout(() => whenReadyFile(() => server.listen(config.port, config.host, () => turnReady(server))), config.loadMs);
    return;
  }
  server.listen(config.port, config.host, () => onListening(server));
}

function onListening(server) {
  if (config.exitBeforeReady !== undefined) {
    setTimeout(() => die(config.exitBeforeReady, `error: failed to load model ${config.model}`), Math.floor(config.loadMs / 2));
    return;
  }
  setTimeout(() => whenReadyFile(() => turnReady(server)), config.loadMs);
}

/** At once, or with --ready-file once that file exists. */
function whenReadyFile(then) {
  if (config.readyFile === undefined || existsSync(config.readyFile)) return then();
  const timer = setInterval(() => {
    if (!existsSync(config.readyFile)) return;
    clearInterval(timer);
    then();
  }, 5);
}

function turnReady(server) {
  state.ready = true;
  mark('ready');
  if (!config.silentReady) log(`server is listening on http://${urlHost(config.host)}:${server.address().port}`);
}

function installSignalHandlers(server) {
  const onTerm = config.ignoreSigterm ? () => log('ignoring SIGTERM') : () => shutdown(server);
  process.on('SIGTERM', () => {
    mark('term');
    onTerm();
  });
  process.on('SIGINT', () => shutdown(server));
}

function shutdown(server) {
  log('shutting down');
  server.close(() => process.exit(0));
  // Idle keep-alive sockets and running streams would otherwise hold close() open.
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 500).unref();
}

// ---------------------------------------------------------------- config

function readConfig(argv, env) {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true });
  if (values.help) printUsageAndExit();
  warnUnknownFlags(values);
  const pick = (flag, ...envNames) => values[flag] ?? envNames.map((name) => env[name]).find((v) => v !== undefined && v !== '');
  const streamDelay = pick('stream-delay-ms', 'DEMO_STREAM_DELAY_MS');
  const tps = toNumber('tokens-per-second', pick('tokens-per-second', 'DEMO_TPS') ?? '50', { integer: false });
  const crashAfter = pick('crash-after', 'DEMO_CRASH_AFTER');
  const exitBeforeReady = pick('exit-before-ready', 'DEMO_EXIT_BEFORE_READY');
  return {
    port: toNumber('port', pick('port', 'PORT', 'LLM_PORT') ?? '8081', { max: 65535 }),
    host: String(pick('host', 'DEMO_HOST') ?? '127.0.0.1'),
    model: String(pick('model', 'MODEL_NAME') ?? 'demo'),
    loadMs: toNumber('load-ms', pick('load-ms', 'DEMO_LOAD_MS') ?? '300'),
    streamIntervalMs: streamDelay !== undefined ? toNumber('stream-delay-ms', streamDelay, { integer: false }) : tps > 0 ? 1000 / tps : 0,
    maxTokensDefault: toNumber('max-tokens-default', pick('max-tokens-default', 'DEMO_MAX_TOKENS_DEFAULT') ?? '16'),
    embeddingDim: toNumber('embedding-dim', pick('embedding-dim', 'DEMO_EMBEDDING_DIM') ?? '8', { min: 1 }),
    crashAfter: crashAfter === undefined ? undefined : toNumber('crash-after', crashAfter),
    exitBeforeReady: exitBeforeReady === undefined ? undefined : toNumber('exit-before-ready', exitBeforeReady, { max: 255 }),
    ignoreSigterm: values['ignore-sigterm'] === true || isTruthy(env.DEMO_IGNORE_SIGTERM),
    quiet: values.quiet === true || isTruthy(env.DEMO_QUIET),
    timings: values.timings === true || isTruthy(env.DEMO_TIMINGS),
    echo: values.echo === true || isTruthy(env.DEMO_ECHO),
    silentReady: values['silent-ready'] === true || isTruthy(env.DEMO_SILENT_READY),
    listenWhenReady: values['listen-when-ready'] === true || isTruthy(env.DEMO_LISTEN_WHEN_READY),
    readyFile: pick('ready-file', 'DEMO_READY_FILE') || undefined,
    timesFile: typeof values['times-file'] === 'string' && values['times-file'] !== '' ? values['times-file'] : undefined,
    apiKey: typeof values['api-key'] === 'string' && values['api-key'] !== '' ? values['api-key'] : undefined,
    servedNames: String(pick('served-names', 'DEMO_SERVED_NAMES') ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  };
}

function toNumber(name, raw, { integer = true, min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const value = Number(raw);
  const ok = typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(value) && value >= min && value <= max;
  if (!ok || (integer && !Number.isInteger(value))) die(2, `error: invalid value for --${name}: ${String(raw)}`);
  return value;
}

function isTruthy(raw) {
  return raw !== undefined && ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase());
}

function warnUnknownFlags(values) {
  for (const name of Object.keys(values)) {
    if (!(name in OPTIONS)) process.stderr.write(`demo-engine: ignoring unknown flag --${name}\n`);
  }
}

function printUsageAndExit() {
  // Read lazily so the usage text lives only in the header comment.
  const source = readFileSync(new URL(import.meta.url), 'utf8');
  const header = source.split('\n').slice(1).filter((line) => line.startsWith('//'));
  process.stdout.write(`${header.map((line) => line.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- routing

function handleRequest(req, res) {
  const path = pathOf(req.url);
  if (!config.quiet) logWhenDone(req, res, path);
  const route = ROUTES[`${req.method} ${path}`];
  if (route === undefined) return sendError(res, 404, `File Not Found: ${req.method} ${path}`, 'not_found_error');
  if (!state.ready) return sendJson(res, 503, LOADING_BODY);
  return route(req, res);
}

function pathOf(url = '/') {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

// Wraps a POST handler: reads the JSON body, counts the request and plays the --crash-after crash.
function modelRequest(handler) {
  return (req, res) => {
    // Its first model request: arrived (head read), and its answer handed to the kernel (a plain
    // answer is written by the time the handler returns; a stream when it finishes).
    const first = config.timesFile !== undefined && !state.markedRequest;
    if (first) {
      state.markedRequest = true;
      mark('first-request');
    }
    if (config.apiKey !== undefined && req.headers.authorization !== `Bearer ${config.apiKey}`) {
      req.resume();
      return sendError(res, 401, 'Invalid API Key', 'authentication_error');
    }
    readJsonBody(req, res, (body) => {
      if (config.servedNames.length > 0 && !config.servedNames.includes(body.model)) {
        return sendError(res, 404, `The model \`${String(body.model)}\` does not exist.`, 'NotFoundError');
      }
      state.modelRequests += 1;
      const crashing = config.crashAfter !== undefined && state.modelRequests > config.crashAfter;
      if (crashing && body.stream !== true) return crash();
      handler(body, res, crashing);
      if (first) {
        if (res.writableEnded) mark('first-answer');
        else res.once('finish', () => mark('first-answer'));
      }
    });
  };
}

function readJsonBody(req, res, onBody) {
  const chunks = [];
  // A client that hangs up mid-upload makes req emit 'error'; unhandled, that would kill the engine.
  req.on('error', () => {});
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendError(res, 400, 'Invalid JSON in request body', 'invalid_request_error');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return sendError(res, 400, 'Request body must be a JSON object', 'invalid_request_error');
    }
    return onBody(body);
  });
}

// ---------------------------------------------------------------- GET endpoints

function handleHealth(_req, res) {
  if (config.timesFile !== undefined && !state.markedHealth) {
    state.markedHealth = true;
    res.once('finish', () => mark('ready-health'));
  }
  sendJson(res, 200, { status: 'ok' });
}

function handleModels(_req, res) {
  sendJson(res, 200, { object: 'list', data: [{ id: config.model, object: 'model', created: state.created, owned_by: 'demo' }] });
}

// ---------------------------------------------------------------- chat and text completions

function handleChat(body, res, crashing) {
  if (!Array.isArray(body.messages) || body.messages.length === 0) return badRequest(res, "'messages' must be a non-empty array");
  const budget = tokenBudget(body);
  if (budget === undefined) return badRequest(res, "'max_tokens' must be a non-negative integer");
  const echoed = config.echo ? echoPieces(lastUserText(body.messages)) : null;
  const pieces = echoed ? echoed.slice(0, budget.limited ? budget.count : echoed.length) : replyPieces(lastUserText(body.messages), budget.count);
  const promptTokens = body.messages.reduce((sum, message) => sum + countWords(messageText(message)), 0);
  const reply = {
    id: newId('chatcmpl'),
    created: nowSeconds(),
    finishReason: (echoed ? pieces.length < echoed.length : budget.limited) ? 'length' : 'stop',
    usage: usageOf(promptTokens, pieces.length),
  };
  if (body.stream === true) return streamEvents(res, chatEvents(reply, pieces, includeUsage(body)), crashing, reply.usage);
  return sendJson(res, 200, {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: config.model,
    choices: [{ index: 0, message: { role: 'assistant', content: pieces.join('') }, logprobs: null, finish_reason: reply.finishReason }],
    usage: reply.usage,
    ...timingsOf(reply.usage, 0),
  });
}

function handleCompletion(body, res, crashing) {
  const prompts = promptTexts(body.prompt);
  if (prompts === undefined) return badRequest(res, "'prompt' must be a string, an array of strings or an array of token ids");
  const budget = tokenBudget(body);
  if (budget === undefined) return badRequest(res, "'max_tokens' must be a non-negative integer");
  const choices = prompts.map((prompt) => replyPieces(prompt, budget.count));
  const promptTokens = prompts.reduce((sum, prompt) => sum + countWords(prompt), 0);
  const reply = {
    id: newId('cmpl'),
    created: nowSeconds(),
    finishReason: budget.limited ? 'length' : 'stop',
    usage: usageOf(promptTokens, choices.length * budget.count),
  };
  if (body.stream === true) return streamEvents(res, completionEvents(reply, choices, includeUsage(body)), crashing, reply.usage);
  return sendJson(res, 200, {
    id: reply.id,
    object: 'text_completion',
    created: reply.created,
    model: config.model,
    choices: choices.map((pieces, index) => ({ index, text: pieces.join(''), logprobs: null, finish_reason: reply.finishReason })),
    usage: reply.usage,
    ...timingsOf(reply.usage, 0),
  });
}

// "limited" means max_tokens cut the answer short, which OpenAI reports as finish_reason "length".
function tokenBudget(body) {
  const requested = body.max_tokens ?? body.max_completion_tokens;
  if (requested === undefined || requested === null) return { count: config.maxTokensDefault, limited: false };
  if (!Number.isInteger(requested) || requested < 0) return undefined;
  return { count: requested, limited: true };
}

// The answer: "Echo:", the first words of the prompt, then "token1 token2 ..."; one piece = one token.
function replyPieces(promptText, count) {
  const words = ['Echo:', ...splitWords(promptText).slice(0, ECHO_WORDS)];
  const pieces = new Array(count);
  for (let i = 0; i < count; i += 1) pieces[i] = `${i < words.length ? words[i] : `token${i - words.length + 1}`} `;
  return pieces;
}

// --echo: the text itself, a word (with the whitespace before it) a token.
function echoPieces(text) {
  const pieces = text.match(/\s*\S+/g) ?? [];
  const tail = text.match(/\s+$/);
  if (tail && pieces.length > 0) pieces[pieces.length - 1] += tail[0];
  return pieces;
}

function lastUserText(messages) {
  const lastUser = messages.findLast((message) => message?.role === 'user') ?? messages.at(-1);
  return messageText(lastUser);
}

// Content is a string or, in the multi-part form, an array of {type:"text", text} parts.
function messageText(message) {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join(' ');
}

function promptTexts(prompt) {
  if (typeof prompt === 'string') return [prompt];
  if (!Array.isArray(prompt) || prompt.length === 0) return undefined;
  if (prompt.every((item) => typeof item === 'number')) return [prompt.join(' ')];
  const texts = prompt.map(inputText);
  return texts.includes(undefined) ? undefined : texts;
}

/** --timings: llama-server's `timings` object for an answer of `usage` generated in `ms`. */
function timingsOf(usage, ms) {
  if (!config.timings) return {};
  const predictedMs = Math.max(ms, 0.5);
  return {
    timings: {
      cache_n: 0,
      prompt_n: usage.prompt_tokens,
      prompt_ms: 0.5,
      prompt_per_second: usage.prompt_tokens / 0.0005,
      predicted_n: usage.completion_tokens,
      predicted_ms: predictedMs,
      predicted_per_token_ms: usage.completion_tokens > 0 ? predictedMs / usage.completion_tokens : 0,
      predicted_per_second: (usage.completion_tokens * 1000) / predictedMs,
    },
  };
}

function includeUsage(body) {
  return body.stream_options?.include_usage === true;
}

function* chatEvents(reply, pieces, withUsage) {
  const chunk = (choices, step, extra) => ({
    step,
    data: { id: reply.id, object: 'chat.completion.chunk', created: reply.created, model: config.model, choices, ...extra },
  });
  yield chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], 0);
  for (let i = 0; i < pieces.length; i += 1) {
    yield chunk([{ index: 0, delta: { content: pieces[i] }, logprobs: null, finish_reason: null }], i + 1);
  }
  yield chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: reply.finishReason }], pieces.length);
  if (withUsage) yield chunk([], pieces.length, { usage: reply.usage });
}

// Several prompts are generated as one batch: token i of every prompt shares step i + 1.
function* completionEvents(reply, choices, withUsage) {
  const chunk = (choice, step, extra) => ({
    step,
    data: { id: reply.id, object: 'text_completion', created: reply.created, model: config.model, choices: choice ? [choice] : [], ...extra },
  });
  const length = choices[0].length;
  for (let i = 0; i < length; i += 1) {
    for (let index = 0; index < choices.length; index += 1) {
      yield chunk({ index, text: choices[index][i], logprobs: null, finish_reason: null }, i + 1);
    }
  }
  for (let index = 0; index < choices.length; index += 1) {
    yield chunk({ index, text: '', logprobs: null, finish_reason: reply.finishReason }, length);
  }
  if (withUsage) yield chunk(undefined, length, { usage: reply.usage });
}

// Writes each event as its own SSE chunk at start + step * interval, then "[DONE]".
// Due times are absolute so fast paces (sub-millisecond) stay accurate despite timer granularity.
function streamEvents(res, events, crashing, usage) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const start = performance.now();
  let timer;
  res.on('close', () => clearTimeout(timer)); // client gone: stop generating
  let next = events.next();
  const pump = () => {
    if (res.destroyed) return;
    const now = performance.now();
    while (!next.done) {
      const dueAt = start + next.value.step * config.streamIntervalMs;
      if (dueAt > now) {
        timer = setTimeout(pump, dueAt - now);
        return;
      }
      const following = events.next();
      // As llama-server: the last event carries the timings.
      const data = following.done && usage ? { ...next.value.data, ...timingsOf(usage, now - start) } : next.value.data;
      const text = `data: ${JSON.stringify(data)}\n\n`;
      // Short answers (max_tokens < 2) crash on their last event instead of finishing.
      if (crashing && (next.value.step >= TOKENS_BEFORE_CRASH || following.done)) {
        res.write(text, crash); // exit once the chunk has reached the socket
        return;
      }
      res.write(text);
      next = following;
    }
    res.end('data: [DONE]\n\n');
  };
  pump();
}

// ---------------------------------------------------------------- embeddings

function handleEmbeddings(body, res) {
  const inputs = embeddingInputs(body.input);
  if (inputs === undefined) return badRequest(res, "'input' must be a non-empty string, array of strings or array of token arrays");
  const asBase64 = body.encoding_format === 'base64';
  const data = inputs.map((input, index) => {
    const vector = embed(input.text);
    return { object: 'embedding', index, embedding: asBase64 ? float32Base64(vector) : Array.from(vector) };
  });
  const tokens = inputs.reduce((sum, input) => sum + input.tokens, 0);
  return sendJson(res, 200, { object: 'list', data, model: config.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

// One {text, tokens} per input; a bare token array is a single input, like in the OpenAI API.
function embeddingInputs(input) {
  if (typeof input === 'string') return input === '' ? undefined : [{ text: input, tokens: countWords(input) }];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'number')) return [{ text: input.join(' '), tokens: input.length }];
  const inputs = [];
  for (const item of input) {
    const text = inputText(item);
    if (text === undefined) return undefined;
    inputs.push({ text, tokens: Array.isArray(item) ? item.length : countWords(text) });
  }
  return inputs;
}

function inputText(item) {
  if (typeof item === 'string') return item;
  if (Array.isArray(item) && item.every((token) => typeof token === 'number')) return item.join(' ');
  return undefined;
}

// Deterministic unit vector: FNV-1a hash of the text seeds a xorshift32 generator.
function embed(text) {
  let seed = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193);
  seed = seed >>> 0 || 1; // xorshift is stuck at zero
  const raw = new Float64Array(config.embeddingDim);
  let norm = 0;
  for (let i = 0; i < raw.length; i += 1) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    raw[i] = (seed >>> 0) / 0x80000000 - 1;
    norm += raw[i] * raw[i];
  }
  norm = Math.sqrt(norm) || 1;
  // Float32 so the float and base64 encodings carry exactly the same numbers.
  return Float32Array.from(raw, (value) => value / norm);
}

function float32Base64(vector) {
  const buffer = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i += 1) buffer.writeFloatLE(vector[i], i * 4);
  return buffer.toString('base64');
}

// ---------------------------------------------------------------- rerank

function handleRerank(body, res) {
  if (typeof body.query !== 'string') return badRequest(res, "'query' must be a string");
  const documents = documentTexts(body.documents);
  if (documents === undefined) return badRequest(res, "'documents' must be an array of strings or of {text} objects");
  const topN = body.top_n ?? documents.length;
  if (!Number.isInteger(topN) || topN < 0) return badRequest(res, "'top_n' must be a non-negative integer");
  const queryWords = new Set(normalizedWords(body.query));
  const ranked = documents
    .map((text, index) => ({ index, relevance_score: overlapScore(queryWords, text), text }))
    .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
    .slice(0, topN);
  const results = ranked.map(({ index, relevance_score, text }) =>
    body.return_documents === true ? { index, relevance_score, document: { text } } : { index, relevance_score },
  );
  const queryTokens = countWords(body.query);
  const tokens = documents.reduce((sum, text) => sum + queryTokens + countWords(text), 0);
  return sendJson(res, 200, { model: config.model, object: 'list', results, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

function documentTexts(documents) {
  if (!Array.isArray(documents)) return undefined;
  const texts = documents.map((doc) => (typeof doc === 'string' ? doc : typeof doc?.text === 'string' ? doc.text : undefined));
  return texts.includes(undefined) ? undefined : texts;
}

// Jaccard similarity of the lower-cased word sets: 1 for the same words, 0 for none shared.
function overlapScore(queryWords, text) {
  const docWords = new Set(normalizedWords(text));
  let shared = 0;
  for (const word of docWords) if (queryWords.has(word)) shared += 1;
  const union = queryWords.size + docWords.size - shared;
  return union === 0 ? 0 : shared / union;
}

function normalizedWords(text) {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

// ---------------------------------------------------------------- helpers

function sendJson(res, status, payload) {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res, status, message, type) {
  sendJson(res, status, { error: { code: status, message, type } });
}

function badRequest(res, message) {
  sendError(res, 400, message, 'invalid_request_error');
}

function usageOf(promptTokens, completionTokens) {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

function splitWords(text) {
  return text.split(/\s+/).filter(Boolean);
}

function countWords(text) {
  return splitWords(text).length;
}

function newId(prefix) {
  state.nextId += 1;
  return `${prefix}-${Date.now().toString(36)}${state.nextId.toString(36)}`;
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function urlHost(host) {
  return host.includes(':') ? `[${host}]` : host;
}

function logWhenDone(req, res, path) {
  res.once('close', () => log(`${req.method} ${path} ${res.statusCode}${res.writableFinished ? '' : ' (aborted)'}`));
}

// --times-file: one "name epoch-ms" line per moment, appended (synchronously: it runs in 'exit' too).
function mark(name, at = performance.timeOrigin + performance.now()) {
  if (config.timesFile !== undefined) appendFileSync(config.timesFile, `${name} ${at}\n`);
}

function log(message) {
  process.stdout.write(`demo-engine: ${message}\n`);
}

function crash() {
  die(CRASH_EXIT_CODE, `error: simulated crash on request ${state.modelRequests} (--crash-after ${config.crashAfter})`);
}

function die(code, message) {
  process.stderr.write(`demo-engine: ${message}\n`);
  process.exit(code);
}
