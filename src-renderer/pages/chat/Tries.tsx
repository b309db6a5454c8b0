// Quick tries for Embedding and Reranker models: what comes back, and how fast.
import { useState, type FormEvent } from 'react';
import type { ModelInfo } from '../../../src-shared/contract.js';
import { useNow } from '../../lib/clock.js';
import { formatMs } from '../../lib/format.js';
import { errorText } from '../../lib/toasts.js';
import { ModelPicker } from './ModelPicker.js';
import { postJson } from './openai.js';

function useModelChoice(models: ModelInfo[]) {
  const [chosen, setChosen] = useState<string | null>(null);
  const model = chosen && models.some((m) => m.name === chosen) ? chosen : models[0]!.name;
  return [model, setChosen] as const;
}

interface EmbeddingResponse {
  data: { embedding: number[] }[];
  usage?: { prompt_tokens?: number };
}

export function EmbeddingTry({ models }: { models: ModelInfo[] }) {
  const now = useNow();
  const [model, setModel] = useModelChoice(models);
  const [input, setInput] = useState('The quick brown fox jumps over the lazy dog.');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ vector: number[]; ms: number; tokens: number | null } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const started = performance.now();
    try {
      const res = await postJson<EmbeddingResponse>('/v1/embeddings', { model, input });
      const vector = res.data[0]?.embedding ?? [];
      setResult({ vector, ms: performance.now() - started, tokens: res.usage?.prompt_tokens ?? null });
    } catch (err) {
      setResult(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="try" onSubmit={(e) => void run(e)}>
      <ModelPicker models={models} value={model} onChange={setModel} now={now} />
      <label className="field">
        <span>Text</span>
        <textarea rows={3} value={input} onChange={(e) => setInput(e.target.value)} />
      </label>
      <div>
        <button type="submit" className="button button-primary" disabled={busy || !input.trim()}>
          {busy ? 'Embedding…' : 'Embed'}
        </button>
      </div>
      {error && (
        <p className="turn-error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <section className="try-result" aria-label="Embedding" data-testid="embedding-result">
          <dl className="facts">
            <div>
              <dt>Dimensions</dt>
              <dd className="num">{result.vector.length}</dd>
            </div>
            <div>
              <dt>Time</dt>
              <dd className="num">{formatMs(result.ms)}</dd>
            </div>
            {result.tokens !== null && (
              <div>
                <dt>Tokens</dt>
                <dd className="num">{result.tokens}</dd>
              </div>
            )}
          </dl>
          <p className="muted small">First values</p>
          <code className="mono vector">
            [{result.vector.slice(0, 8).map((v) => v.toFixed(4)).join(', ')}
            {result.vector.length > 8 ? ', …' : ''}]
          </code>
        </section>
      )}
    </form>
  );
}

interface RerankResponse {
  results: { index: number; relevance_score: number }[];
}

export function RerankTry({ models }: { models: ModelInfo[] }) {
  const now = useNow();
  const [model, setModel] = useModelChoice(models);
  const [query, setQuery] = useState('how do I bake bread');
  const [docs, setDocs] = useState('Bread needs flour, water, salt and yeast.\nThe weather is sunny today.\nBake the bread at 230 °C for 30 minutes.');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ranked: { text: string; score: number; index: number }[]; ms: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const documents = docs.split('\n').map((d) => d.trim()).filter(Boolean);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const started = performance.now();
    try {
      const res = await postJson<RerankResponse>('/v1/rerank', { model, query, documents });
      const ranked = [...res.results]
        .sort((a, b) => b.relevance_score - a.relevance_score)
        .map((r) => ({ index: r.index, score: r.relevance_score, text: documents[r.index] ?? `document ${r.index}` }));
      setResult({ ranked, ms: performance.now() - started });
    } catch (err) {
      setResult(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const top = Math.max(1e-9, ...(result?.ranked.map((r) => r.score) ?? [1]));
  return (
    <form className="try" onSubmit={(e) => void run(e)}>
      <ModelPicker models={models} value={model} onChange={setModel} now={now} />
      <label className="field">
        <span>Query</span>
        <input type="text" value={query} onChange={(e) => setQuery(e.target.value)} />
      </label>
      <label className="field">
        <span>Documents (one per line)</span>
        <textarea rows={4} value={docs} onChange={(e) => setDocs(e.target.value)} />
      </label>
      <div>
        <button type="submit" className="button button-primary" disabled={busy || !query.trim() || documents.length === 0}>
          {busy ? 'Ranking…' : 'Rank'}
        </button>
      </div>
      {error && (
        <p className="turn-error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <section className="try-result" aria-label="Ranking" data-testid="rerank-result">
          <p className="muted small">
            Ranked in <span className="num">{formatMs(result.ms)}</span>
          </p>
          <table className="table rank-table">
            <thead>
              <tr>
                <th className="num">#</th>
                <th className="num">Score</th>
                <th>Document</th>
              </tr>
            </thead>
            <tbody>
              {result.ranked.map((r, i) => (
                <tr key={r.index}>
                  <td className="num">{i + 1}</td>
                  <td className="num score-cell">
                    <span className="score-bar" style={{ width: `${Math.max(2, (r.score / top) * 100)}%` }} aria-hidden="true" />
                    <span>{r.score.toFixed(3)}</span>
                  </td>
                  <td>{r.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </form>
  );
}
