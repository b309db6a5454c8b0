// GET /api/openapi.json: an OpenAPI 3.1 document of /api, /v1 and /health, generated from the zod
// schemas in src-shared/api-schemas.ts, which the routes validate with (written once, never twice).
import { z } from 'zod';
import {
  apiComponents,
  backupIdParamSchema,
  deleteFilesQuerySchema,
  downloadIdParamSchema,
  managerOperations,
  modelEntrySchema,
  modelListSchema,
  modelNameParamSchema,
  nodeHealthSchema,
  proxiedRequestSchema,
  tailQuerySchema,
  usageQueryParams,
  usageRequestsParams,
} from '../../../src-shared/api-schemas.js';
import { EVENTS_PATH, LOG_STREAM_PATH } from '../../../src-shared/contract.js';
import { appVersion } from '../version.js';
import { ENDPOINT_MODES } from './openai.js';

export const OPENAPI_PATH = '/api/openapi.json';

type Json = Record<string, unknown>;

export interface DocumentedOperation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI path: `{name}` for a parameter. */
  path: string;
  operationId: string;
  /** JSON 200 answer's schema (null: not JSON, e.g. a stream or the engine's own answer). */
  result: z.ZodType | null;
  statuses: number[];
}

const REF = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const ERROR = { description: 'OpenAI-shaped error', content: { 'application/json': { schema: REF('Error') } } };
const DOOR = { 401: ERROR, 403: ERROR };

let cached: { version: string; document: Json; operations: DocumentedOperation[] } | null = null;

/** The document (built once per version; it never changes while the node runs). */
export function openApiDocument(version = appVersion()): Json {
  return build(version).document;
}

/** Every operation the document lists, with the schema its 200 answer has: what the route test walks. */
export function documentedOperations(): DocumentedOperation[] {
  return build(appVersion()).operations;
}

function build(version: string) {
  if (cached?.version === version) return cached;
  // One registry: the named schemas plus each route's own, so every $ref points into components.
  const registry = z.registry<{ id: string }>();
  const idOf = new Map<z.ZodType, string>();
  const refId = (schema: z.ZodType, fallbackId: string): string => {
    let id = idOf.get(schema);
    if (!id) {
      id = fallbackId;
      idOf.set(schema, id);
      registry.add(schema, { id });
    }
    return id;
  };
  for (const [id, schema] of apiComponents()) refId(schema, id);

  const paths: Record<string, Record<string, Json>> = {};
  const operations: DocumentedOperation[] = [];
  const add = (method: 'get' | 'post' | 'delete', path: string, op: Json & { operationId: string; responses: Record<number, Json> }, result: z.ZodType | null) => {
    (paths[path] ??= {})[method] = op;
    operations.push({ method, path, operationId: op.operationId, result, statuses: Object.keys(op.responses).map(Number) });
  };
  const param = (name: string, where: 'path' | 'query', schema: z.ZodType) => ({
    name,
    in: where,
    required: where === 'path',
    ...(schema.description ? { description: schema.description } : {}),
    schema: inline(schema),
  });

  // ---- /api: the ManagerApi, from managerRoutes + managerSchemas
  for (const op of managerOperations()) {
    const path = op.path.replace(/:(\w+)/g, '{$1}');
    const resultSchema = op.result ? REF(refId(op.result, `${op.name[0]!.toUpperCase()}${op.name.slice(1)}Result`)) : {};
    const parameters = op.args.flatMap((arg) =>
      arg === 'name' ? [param('name', 'path', modelNameParamSchema)]
        : arg === 'tail' ? [param('tail', 'query', tailQuerySchema)]
        : arg === 'backupId' ? [param('id', 'path', backupIdParamSchema)]
        : arg === 'downloadId' ? [param('id', 'path', downloadIdParamSchema)]
        : arg === 'removeOptions' ? [param('delete_files', 'query', deleteFilesQuerySchema)]
        : arg === 'query' ? Object.entries(op.name === 'listUsageRequests' ? usageRequestsParams : op.name === 'deleteUsage' ? { from: usageQueryParams['from']!, to: usageQueryParams['to']! } : usageQueryParams).map(([name, schema]) => param(name, 'query', schema))
        : [],
    );
    const takesInput = parameters.length > 0 || op.body !== undefined;
    const csv = 'produces' in op && op.produces === 'text/csv';
    const responses: Record<number, Json> = { 200: { description: 'OK', content: csv ? { 'text/csv': { schema: { type: 'string' } } } : { 'application/json': { schema: resultSchema } } }, ...DOOR };
    for (const status of [...(takesInput ? [400] : []), ...(op.errors ?? [])]) responses[status] = ERROR;
    add(
      op.method === 'GET' ? 'get' : op.method === 'DELETE' ? 'delete' : 'post',
      path,
      {
        operationId: op.name,
        tags: ['management'],
        summary: op.summary ?? op.name,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: REF(refId(op.body, `${op.name}Request`)) } } } } : {}),
        responses,
      },
      csv ? null : (op.result ?? null),
    );
  }
  const sse = (description: string) => ({ 200: { description, content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...DOOR });
  add('get', EVENTS_PATH, { operationId: 'events', tags: ['management'], summary: 'Server-Sent Events: model states (a snapshot first), log lines, device readings, config saves, holds, download progress (`event: <type>`, `data: <json>`)', responses: sse('event stream') }, null);
  add(
    'get',
    LOG_STREAM_PATH.replace(':name', '{name}'),
    { operationId: 'modelLogStream', tags: ['management'], summary: "Server-Sent Events of a model's log: the last `tail` lines, then live ones (`event: log`, `data: <LogLine>`)", parameters: [param('name', 'path', modelNameParamSchema), param('tail', 'query', tailQuerySchema)], responses: { ...sse('log stream'), 400: ERROR, 404: ERROR } },
    null,
  );
  add('get', OPENAPI_PATH, { operationId: 'openapi', tags: ['management'], summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, ...DOOR } }, null);
  add('get', '/metrics', { operationId: 'metrics', tags: ['management'], summary: "Prometheus text: models' states, requests, starts, failures, VRAM; GPUs' memory, load, temperature, power", responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } }, ...DOOR } }, null);

  // ---- /v1: the OpenAI-compatible API
  add('get', '/v1/models', { operationId: 'listModelsOpenAI', tags: ['openai'], summary: 'Every model and alias, in OpenAI list format, with state, mode and port', responses: { 200: { description: 'OK', content: { 'application/json': { schema: REF(refId(modelListSchema, 'ModelList')) } } }, ...DOOR } }, modelListSchema);
  add(
    'get',
    '/v1/models/{id}',
    { operationId: 'retrieveModelOpenAI', tags: ['openai'], summary: 'One model or alias', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'OK', content: { 'application/json': { schema: REF(refId(modelEntrySchema, 'ModelEntry')) } } }, ...DOOR, 404: ERROR } },
    modelEntrySchema,
  );
  const requestId = refId(proxiedRequestSchema, 'ProxiedRequest');
  for (const [path, modes] of Object.entries(ENDPOINT_MODES)) {
    add(
      'post',
      path,
      {
        operationId: `proxy${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
        tags: ['openai'],
        summary: `Passed to a ${modes.join(' or ')} model's engine (started on demand), its answer streamed back as it is`,
        requestBody: { required: true, content: { 'application/json': { schema: REF(requestId) } } },
        responses: {
          200: {
            description: "The engine's answer, unchanged: JSON, or Server-Sent Events with `stream: true`",
            content: { 'application/json': { schema: {} }, 'text/event-stream': { schema: { type: 'string' } } },
          },
          400: ERROR,
          ...DOOR,
          404: ERROR,
          413: ERROR,
          415: ERROR,
          502: ERROR,
          503: ERROR,
        },
      },
      null,
    );
  }

  // ---- /health: for probes, no key
  for (const path of ['/health', '/healthz']) {
    const health = { description: 'JSON', content: { 'application/json': { schema: REF(refId(nodeHealthSchema, 'NodeHealth')) } } };
    add(
      'get',
      path,
      {
        operationId: path === '/health' ? 'health' : 'healthz',
        tags: ['health'],
        summary: 'For probes (container HEALTHCHECK, load balancers): no API key needed; says only status, version, uptime and model counts',
        security: [],
        responses: { 200: { ...health, description: 'serving (status ok, or degraded: the config file on disk is invalid and the last good config runs)' }, 503: { ...health, description: 'stopping' } },
      },
      nodeHealthSchema,
    );
  }

  const converted = z.toJSONSchema(registry, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas;
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(converted)) {
    const { $id: _id, $schema: _schema, ...rest } = schema as Json;
    schemas[id] = rest;
  }

  const document: Json = {
    openapi: '3.1.0',
    info: {
      title: 'LLM Manager',
      version,
      description:
        'One OpenAI-compatible endpoint for every local model (/v1), the management API (/api) and a probe (/health). With program.api_keys set, /v1 and /api need `Authorization: Bearer KEY` (or `x-api-key: KEY`); /health never does. Errors are `{"error":{"message","type","code"}}`.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'openai', description: 'OpenAI-compatible API: requests name a model or alias; its engine starts on demand' },
      { name: 'management', description: 'The ManagerApi over HTTP: models, logs, devices, config' },
      { name: 'health', description: 'For probes' },
    ],
    security: [{ bearer: [] }, { apiKey: [] }, {}],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'one of program.api_keys' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'one of program.api_keys' },
      },
    },
  };
  cached = { version, document, operations };
  return cached;
}

/** A small schema written in place (a parameter's). */
function inline(schema: z.ZodType): Json {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
  return rest;
}
