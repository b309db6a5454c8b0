// /api: the ManagerApi over HTTP, generated from the shared route table, plus its SSE streams.
import express, { type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import { EVENTS_PATH, LOG_STREAM_PATH, MAX_LOG_TAIL, type ManagerApi } from '../../../src-shared/contract.js';
import { deleteFilesQuerySchema, downloadIdParamSchema, managerOperations, modelNameParamSchema, tailQuerySchema } from '../../../src-shared/api-schemas.js';
import { ApiError } from '../../../src-shared/errors.js';
import type { ModelRegistry } from '../models/registry.js';
import { modelNotFound } from '../api.js';
import { sendError } from './openai.js';
import { OPENAPI_PATH, openApiDocument } from './openapi.js';
import { openSse } from './sse.js';
import { serveEvents } from './events-stream.js';

export function createManagementApp(api: ManagerApi, registry: ModelRegistry): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Only the config editor sends a body; a YAML file is small.
  app.use('/api/config', express.json({ limit: '2mb' }));
  // Downloads and the Deploy form: a few fields each (exact paths: a start or stop takes no body).
  app.post(['/api/library/downloads', '/api/models', '/api/models/preview'], express.json({ limit: '64kb' }));
  // Model names arrive in the URL: bound them and refuse control characters (NUL) before any lookup.
  app.param('name', (_req, _res, next, value: unknown) => {
    const checked = modelNameParamSchema.safeParse(String(value));
    next(checked.success ? undefined : new ApiError(400, 'invalid_model_name', checked.error.issues[0]!.message));
  });

  app.get(OPENAPI_PATH, (_req, res) => {
    res.json(openApiDocument());
  });

  // The ManagerApi's routes: inputs checked with the same schemas the OpenAPI document shows.
  for (const spec of managerOperations()) {
    const method = spec.name;
    const handler = async (req: Request, res: Response) => {
      const body = (spec.body ? validBody(spec.body, req.body) : req.body) as { text?: unknown; confirm_remove_all?: unknown } | undefined;
      const args = spec.args.map((arg) => {
        switch (arg) {
          case 'name':
            return String(req.params['name']);
          case 'tail':
            return parseTail(req.query['tail']);
          case 'text':
            return body?.text;
          case 'saveOptions':
            return body?.confirm_remove_all === undefined ? undefined : { confirmRemoveAll: body.confirm_remove_all };
          case 'backupId':
            return String(req.params['id']);
          case 'downloadId':
            return parseParam(downloadIdParamSchema, req.params['id'], 'invalid_download_id');
          case 'body':
            return body;
          case 'removeOptions':
            return req.query['delete_files'] === undefined ? undefined : { deleteFiles: parseParam(deleteFilesQuerySchema, req.query['delete_files'], 'invalid_delete_files') === 'true' };
          case 'query':
            return { ...(req.query as Record<string, unknown>) };
        }
      });
      const result = await (api[method] as (...a: unknown[]) => Promise<unknown>)(...args);
      if ('produces' in spec && spec.produces === 'text/csv') {
        res.setHeader('content-type', 'text/csv; charset=utf-8');
        res.setHeader('content-disposition', 'attachment; filename="llm-manager-usage.csv"');
        res.setHeader('cache-control', 'no-store');
        return void res.send(result);
      }
      res.json(result);
    };
    const route = (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);
    if (spec.method === 'GET') app.get(spec.path, route);
    else if (spec.method === 'DELETE') app.delete(spec.path, route);
    else app.post(spec.path, route);
  }

  // server.ts serves GET itself (without loading express); anything else that reaches here too.
  app.get(EVENTS_PATH, (req, res) => serveEvents(req, res, api));

  app.get(LOG_STREAM_PATH, (req, res) => {
    const supervisor = registry.resolve(String(req.params['name']));
    if (!supervisor) return sendError(res, modelNotFound(registry, String(req.params['name'])));
    const tail = req.query['tail'] === undefined ? 200 : parseTail(req.query['tail']);
    let unsubscribe = () => {};
    const sse = openSse(req, res, () => unsubscribe());
    let lastSeq = 0;
    for (const line of supervisor.log.tail(tail)) {
      sse.send('log', line, line.seq);
      lastSeq = line.seq;
    }
    unsubscribe = supervisor.log.onLine((line) => {
      if (line.seq > lastSeq) sse.send('log', line, line.seq);
    });
  });

  app.use('/api', (req, res) => {
    sendError(res, new ApiError(404, 'unknown_url', `unknown management endpoint ${req.method} ${req.originalUrl.split('?')[0]}`));
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // body-parser's errors carry a status (400 bad JSON, 413 too large, 415 charset).
    const status = (err as { status?: unknown })?.status;
    if (!(err instanceof ApiError) && typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, new ApiError(status, 'invalid_request', `invalid request body: ${(err as Error).message}`));
    }
    sendError(res, err);
  });
  return app;
}

function parseTail(value: unknown): number {
  if (value === undefined) return 200;
  const n = Number(value);
  if (!tailQuerySchema.safeParse(value).success || !Number.isSafeInteger(n)) {
    throw new ApiError(400, 'invalid_tail', `tail must be a whole number 0-${MAX_LOG_TAIL}`);
  }
  return Math.min(n, MAX_LOG_TAIL);
}

function parseParam<T>(schema: z.ZodType<T>, value: unknown, code: string): T {
  const checked = schema.safeParse(value);
  if (!checked.success) throw new ApiError(400, code, checked.error.issues[0]!.message);
  return checked.data;
}

/** Field → the code a client has always got for it (the config editor shows these). */
const BODY_FIELD_CODES: Record<string, string> = { text: 'invalid_config_text', confirm_remove_all: 'invalid_confirm_remove_all' };

function validBody(schema: z.ZodType, body: unknown): unknown {
  const checked = schema.safeParse(body ?? {});
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? undefined : String(issue.path[0] ?? '');
  const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} in the request body` : issue.message;
  throw new ApiError(400, (field !== undefined && BODY_FIELD_CODES[field]) || 'invalid_request', message);
}
