// The one field the router reads from a /v1 request body: its `model`. Kept apart from
// api-schemas.ts (the whole management API's schemas, loaded only when /api is first used) so the
// request path checks names with the very schema the OpenAPI document shows, at no start-up cost.
import { z } from 'zod';

/** Longest model name or alias a request may carry. */
export const MAX_MODEL_NAME = 256;

export const requestedModelSchema = z
  .string({ error: '"model" must be a non-empty string' })
  .regex(/\S/, '"model" must be a non-empty string')
  .max(MAX_MODEL_NAME, `"model" is longer than ${MAX_MODEL_NAME} characters`)
  .describe('a model name or alias (GET /v1/models lists them)');
