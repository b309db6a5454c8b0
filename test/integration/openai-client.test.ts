// The official `openai` npm client pointed at the router (baseURL <node>/v1): what real tools do.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, readJson } from '../helpers/http.js';
import { closeAllNodes, startNode, type NodeFixture } from '../helpers/node-fixture.js';

afterEach(closeAllNodes);

async function setup(): Promise<{ fx: NodeFixture; client: OpenAI }> {
  const fx = await startNode({
    models: [
      { name: 'demo', aliases: ['gpt-3.5-turbo'], flags: ['--load-ms', '150', '--stream-delay-ms', '10'] },
      { name: 'demo-embed', mode: 'Embedding', aliases: ['text-embedding-3-small'] },
      { name: 'broken', flags: ['--load-ms', '100', '--exit-before-ready', '4'] },
    ],
  });
  // No retries: a 5xx must surface as it is, not be retried behind the test's back.
  const client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 15_000 });
  return { fx, client };
}

describe('official openai client against the router', () => {
  it('chat completion, starting the model on demand', async () => {
    const { fx, client } = await setup();
    const completion = await client.chat.completions.create({
      model: 'gpt-3.5-turbo',
      messages: [{ role: 'user', content: 'ping from the openai client' }],
      max_tokens: 6,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('demo');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: ping from the openai client ' });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ completion_tokens: 6 });
    expect((await fx.info('demo')).state).toBe('ready');
  });

  it('streaming chat: deltas add up to the answer, usage comes last', async () => {
    const { client } = await setup();
    const stream = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'stream this please' }],
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas.length).toBe(7);
    expect(deltas.join('')).toBe('Echo: stream this please token1 token2 token3 ');
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(7);
  });

  it('embeddings from an Embedding-mode model, equal to the raw float answer', async () => {
    const { fx, client } = await setup();
    const response = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['first text', 'second text'] });
    expect(response.object).toBe('list');
    expect(response.data).toHaveLength(2);
    expect(response.data[0]?.embedding).toHaveLength(8);
    expect(response.data[0]?.embedding).not.toEqual(response.data[1]?.embedding);
    // The client asks for base64 and decodes it; the router passes it through untouched.
    const raw = await readJson(await postJson(`${fx.url}/v1/embeddings`, { model: 'demo-embed', input: 'first text' }));
    expect(response.data[0]?.embedding).toEqual(raw.data[0].embedding);
  });

  it('models.list() shows every model and alias', async () => {
    const { client } = await setup();
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual(['broken', 'demo', 'demo-embed', 'gpt-3.5-turbo', 'text-embedding-3-small']);
  });

  it('errors surface as the client’s typed errors with status and code', async () => {
    const { client } = await setup();
    const notFound = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect((notFound as InstanceType<typeof OpenAI.NotFoundError>).status).toBe(404);
    expect((notFound as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');

    const mismatch = await client.embeddings.create({ model: 'demo', input: 'x' }).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(OpenAI.BadRequestError);
    expect((mismatch as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('model_mode_mismatch');

    const failed = await client.chat.completions.create({ model: 'broken', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((failed as InstanceType<typeof OpenAI.APIError>).code).toBe('model_start_failed');
    expect((failed as Error).message).toContain('exit code 4');
  });
});
