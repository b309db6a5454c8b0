// "Add model": pick a GGUF file from the library (or download one from Hugging Face, with a
// progress bar), or name a Hugging Face model for vLLM / SGLang; say where it runs and how; see
// the exact command and the config entry; Save (or Save and start). The node renders the command
// with the same engine renderers a start uses, and saves through the Config page's own save.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { DeployPreview, DeviceReading, DownloadInfo, LibraryEntry, OllamaModelEntry } from '../../../src-shared/contract.js';
import { CopyButton, EmptyState, ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { toggleRunning } from '../../api/actions.js';
import { manager, nodeReachable } from '../../api/manager.js';
import { useDevices, useDownloads, useLibrary, useOllamaModels } from '../../api/queries.js';
import { DASH, formatMb, formatRemaining } from '../../lib/format.js';
import { hrefFor, navigate } from '../../lib/router.js';
import { createStore, useStore } from '../../lib/store.js';
import { errorText, showToast } from '../../lib/toasts.js';
import './deploy.css';
import { EMPTY_FORM, estimateFor, fitOf, missing, modeOf, nameFromFile, nameFromHubId, nameFromOllama, specOf, type DeployForm, type Source } from './form.js';

/** The form outlives a visit to another page (a download finishing meanwhile, a look at Devices). */
const formStore = createStore<DeployForm>(EMPTY_FORM);
const update = (patch: Partial<DeployForm>) => formStore.set((f) => ({ ...f, ...patch }));

const MIB = 1024 * 1024;
const SOURCES: { id: Source; label: string }[] = [
  { id: 'library', label: 'Library file' },
  { id: 'download', label: 'Download' },
  { id: 'hub-id', label: 'Hugging Face id (vLLM, SGLang)' },
  { id: 'ollama', label: 'Ollama' },
];

export function DeployPage() {
  const form = useStore(formStore);
  const library = useLibrary();
  const devices = useDevices();
  const entries = useMemo(() => (library.data?.entries ?? []).filter((e) => e.kind !== 'mmproj'), [library.data]);
  const entry = entries.find((e) => e.path === form.file);
  const gpus = (devices.data?.devices ?? []).filter((d) => d.kind === 'gpu' && d.online);

  const choose = (file: LibraryEntry) => update({ file: file.path, source: 'library', engine: 'llama.cpp', mode: modeOf(file), ...(formStore.get().nameTouched ? {} : { name: nameFromFile(file.name) }) });
  const setSource = (source: Source) =>
    update(source === 'hub-id' ? { source, engine: form.engine === 'llama.cpp' || form.engine === 'ollama' ? 'vllm' : form.engine } : source === 'ollama' ? { source, engine: 'ollama' } : { source, engine: 'llama.cpp' });

  return (
    <div className="page-body deploy-page">
      <PageHeader title="Add a model">
        <div className="segmented" role="tablist" aria-label="Where the model comes from">
          {SOURCES.map((s) => (
            <button key={s.id} type="button" role="tab" aria-selected={form.source === s.id} className="segment" onClick={() => setSource(s.id)}>
              {s.label}
            </button>
          ))}
        </div>
      </PageHeader>

      <section className="deploy-section" aria-label="Model file">
        {form.source === 'library' && <LibraryPicker entries={entries} loading={!library.data} error={library.isError ? errorText(library.error) : null} chosen={form.file} onChoose={choose} folder={library.data?.roots[0]?.path ?? null} />}
        {form.source === 'download' && <DownloadPanel onUse={(path) => {
          const found = entries.find((e) => e.path === path);
          if (found) choose(found);
          else update({ file: path, source: 'library', engine: 'llama.cpp', ...(formStore.get().nameTouched ? {} : { name: nameFromFile(path) }) });
        }} />}
        {form.source === 'hub-id' && (
          <label className="field deploy-hub-id">
            <span>Hugging Face id or model folder</span>
            <input
              type="text"
              value={form.hubId}
              placeholder="Qwen/Qwen2.5-7B-Instruct"
              spellCheck={false}
              onChange={(e) => update({ hubId: e.target.value, ...(form.nameTouched ? {} : { name: nameFromHubId(e.target.value) }) })}
            />
            <small className="muted">vLLM and SGLang download the model themselves on its first start (set HF_TOKEN for gated models).</small>
          </label>
        )}
        {form.source === 'ollama' && <OllamaPicker chosen={form.ollamaModel} onChoose={(m, baseUrl) => update({ ollamaModel: m.name, ollamaUrl: baseUrl, ...(formStore.get().nameTouched ? {} : { name: nameFromOllama(m.name) }) })} />}
      </section>

      <RunSettings form={form} entry={entry} gpus={gpus} devices={devices.data?.devices ?? []} />
      <PreviewAndSave form={form} />
    </div>
  );
}

function LibraryPicker({ entries, loading, error, chosen, onChoose, folder }: { entries: LibraryEntry[]; loading: boolean; error: string | null; chosen: string | null; onChoose: (e: LibraryEntry) => void; folder: string | null }) {
  if (error) return <ErrorNotice title="Couldn't read the models folders" message={error} />;
  if (!loading && entries.length === 0) {
    return (
      <EmptyState title="No GGUF files in the models folders yet">
        <p>
          Download one from Hugging Face (the <strong>Download</strong> tab), or put .gguf files in <code className="mono">{folder ?? 'models/'}</code>.
        </p>
      </EmptyState>
    );
  }
  return (
    <div className="table-wrap deploy-files">
      <table className="table">
        <thead>
          <tr>
            <th className="col-pick">
              <span className="visually-hidden">Chosen</span>
            </th>
            <th>File</th>
            <th>Architecture</th>
            <th className="num">Parameters</th>
            <th>Quantisation</th>
            <th className="num">Context</th>
            <th className="num">Size</th>
            <th>Used by</th>
          </tr>
        </thead>
        <tbody>
          {loading
            ? [0, 1].map((i) => (
                <tr key={i} className="skeleton-row">
                  {Array.from({ length: 8 }, (_, c) => (
                    <td key={c}>
                      <Skeleton width="70%" />
                    </td>
                  ))}
                </tr>
              ))
            : entries.map((e) => (
                <tr key={e.path} className={e.path === chosen ? 'file-row is-chosen' : 'file-row'} onClick={() => onChoose(e)} data-file={e.name}>
                  <td className="col-pick">
                    <input type="radio" name="deploy-file" aria-label={`Use ${e.name}`} checked={e.path === chosen} onChange={() => onChoose(e)} />
                  </td>
                  <td className="file-name" title={e.path}>
                    {e.name}
                    {e.kind !== 'chat' && <span className="chip">{e.kind}</span>}
                    {e.error && <span className="muted small"> ({e.error})</span>}
                  </td>
                  <td>{e.architecture ?? DASH}</td>
                  <td className="num">{e.parameters ? formatParams(e.parameters) : DASH}</td>
                  <td>{e.quantization ?? DASH}</td>
                  <td className="num">{e.contextLength ? e.contextLength.toLocaleString('en-US') : DASH}</td>
                  <td className="num">{formatMb(e.sizeBytes / MIB)}</td>
                  <td>{e.usedBy.length > 0 ? e.usedBy.join(', ') : <span className="muted">{DASH}</span>}</td>
                </tr>
              ))}
        </tbody>
      </table>
    </div>
  );
}

/** The models the Ollama server has (its /api/tags): choose one to serve through this endpoint. */
function OllamaPicker({ chosen, onChoose }: { chosen: string; onChoose: (m: OllamaModelEntry, baseUrl: string) => void }) {
  const listing = useOllamaModels();
  if (listing.isError) return <ErrorNotice title="Couldn't ask Ollama" message={errorText(listing.error)} />;
  const data = listing.data;
  if (data?.error) return <ErrorNotice title="Ollama isn't answering" message={capitalized(data.error)} />;
  if (data && data.models.length === 0) {
    return (
      <EmptyState title={`Ollama at ${data.baseUrl} has no models yet`}>
        <p>
          Pull one with <code className="mono">ollama pull qwen2.5:7b</code>, then come back here.
        </p>
      </EmptyState>
    );
  }
  return (
    <div data-testid="ollama-models">
      {data && <p className="muted small ollama-note">Models of Ollama at <code className="mono">{data.baseUrl}</code>: requests go to its OpenAI-compatible API; Start loads the model, Stop unloads it.</p>}
      <div className="table-wrap deploy-files">
        <table className="table">
          <thead>
            <tr>
              <th className="col-pick">
                <span className="visually-hidden">Chosen</span>
              </th>
              <th>Model</th>
              <th>Family</th>
              <th className="num">Parameters</th>
              <th>Quantisation</th>
              <th className="num">Size</th>
              <th>Used by</th>
            </tr>
          </thead>
          <tbody>
            {!data
              ? [0, 1].map((i) => (
                  <tr key={i} className="skeleton-row">
                    {Array.from({ length: 7 }, (_, c) => (
                      <td key={c}>
                        <Skeleton width="70%" />
                      </td>
                    ))}
                  </tr>
                ))
              : data.models.map((m) => (
                  <tr key={m.name} className={m.name === chosen ? 'file-row is-chosen' : 'file-row'} onClick={() => onChoose(m, data.baseUrl)} data-ollama-model={m.name}>
                    <td className="col-pick">
                      <input type="radio" name="deploy-ollama" aria-label={`Use ${m.name}`} checked={m.name === chosen} onChange={() => onChoose(m, data.baseUrl)} />
                    </td>
                    <td className="file-name">{m.name}</td>
                    <td>{m.family ?? DASH}</td>
                    <td className="num">{m.parameterSize ?? DASH}</td>
                    <td>{m.quantization ?? DASH}</td>
                    <td className="num">{m.sizeBytes !== null ? formatMb(m.sizeBytes / MIB) : DASH}</td>
                    <td>{m.usedBy.length > 0 ? m.usedBy.join(', ') : <span className="muted">{DASH}</span>}</td>
                  </tr>
                ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function DownloadPanel({ onUse }: { onUse: (path: string) => void }) {
  const [repo, setRepo] = useState('');
  const [file, setFile] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const downloads = useDownloads();
  const reachable = useStore(nodeReachable);
  const start = () => {
    setBusy(true);
    setError(null);
    manager
      .startDownload({ repo: repo.trim(), file: file.trim() })
      .then(() => setFile(''))
      .catch((err: unknown) => setError(errorText(err)))
      .finally(() => setBusy(false));
  };
  return (
    <div className="deploy-download">
      <form
        className="download-form"
        onSubmit={(e) => {
          e.preventDefault();
          start();
        }}
      >
        <label className="field">
          <span>Hugging Face repo</span>
          <input type="text" value={repo} placeholder="Qwen/Qwen2.5-0.5B-Instruct-GGUF" spellCheck={false} onChange={(e) => setRepo(e.target.value)} />
        </label>
        <label className="field">
          <span>File</span>
          <input type="text" value={file} placeholder="qwen2.5-0.5b-instruct-q4_k_m.gguf" spellCheck={false} onChange={(e) => setFile(e.target.value)} />
        </label>
        <button type="submit" className="button button-primary" disabled={busy || !reachable || repo.trim() === '' || file.trim() === ''}>
          Download
        </button>
      </form>
      <p className="muted small">The file goes into the first models folder, as owner/repo/file. An interrupted download goes on where it stopped when you start it again.</p>
      {error && <ErrorNotice title="Couldn't start the download" message={capitalized(error)} />}
      {(downloads.data ?? []).length > 0 && (
        <ul className="download-list" aria-label="Downloads">
          {downloads.data!.map((d) => (
            <DownloadRow key={d.id} download={d} onUse={() => onUse(d.path)} />
          ))}
        </ul>
      )}
    </div>
  );
}

function DownloadRow({ download: d, onUse }: { download: DownloadInfo; onUse: () => void }) {
  const pct = d.totalBytes ? Math.min(100, (d.bytes / d.totalBytes) * 100) : null;
  const running = d.state === 'downloading' || d.state === 'verifying';
  let status: ReactNode;
  if (d.state === 'downloading') {
    status = (
      <>
        {formatSize(d.bytes)} of {d.totalBytes ? formatSize(d.totalBytes) : '?'}
        {d.speedBps !== null && ` · ${formatSize(d.speedBps)}/s`}
        {d.etaS !== null && ` · ${formatRemaining(d.etaS * 1000)} left`}
      </>
    );
  } else if (d.state === 'verifying') status = 'Checking the file…';
  else if (d.state === 'done') status = `Done · ${formatSize(d.bytes)} · ${d.verified === 'sha256' ? 'SHA-256 checked' : d.verified === 'size' ? 'size checked' : 'not checked'}`;
  else if (d.state === 'cancelled') status = 'Cancelled';
  else status = d.error === null ? 'Failed' : capitalized(d.error);
  return (
    <li className={`download-row download-${d.state}`} data-download={d.source}>
      <div className="download-head">
        <span className="download-name" title={d.path}>
          {d.source}
        </span>
        <span className="download-actions">
          {d.state === 'done' && (
            <button type="button" className="button" onClick={onUse}>
              Use this file
            </button>
          )}
          {(running || d.state === 'failed') && (
            <button type="button" className="button button-quiet" onClick={() => void manager.cancelDownload(d.id).catch((err: unknown) => showToast(`Couldn't cancel: ${errorText(err)}`, 'error'))}>
              {running ? 'Cancel' : 'Discard'}
            </button>
          )}
        </span>
      </div>
      <div className="progress" role="progressbar" aria-label={`${d.source} downloaded`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct === null ? undefined : Math.round(pct)}>
        <div className="progress-fill" style={{ width: `${d.state === 'done' ? 100 : (pct ?? 0)}%` }} />
      </div>
      <div className={d.state === 'failed' ? 'download-status is-error' : 'download-status muted small'}>{status}</div>
    </li>
  );
}

function RunSettings({ form, entry, gpus, devices }: { form: DeployForm; entry: LibraryEntry | undefined; gpus: DeviceReading[]; devices: DeviceReading[] }) {
  const estimate = form.engine === 'llama.cpp' ? estimateFor(entry, form) : null;
  const typed = Number(form.memoryMb);
  const totalMb = form.memoryMb.trim() !== '' && Number.isFinite(typed) ? typed : (estimate?.totalMb ?? null);
  const fit = fitOf(totalMb, form, devices);
  const toggleGpu = (id: string, on: boolean) => update({ devices: on ? [...form.devices, id].sort() : form.devices.filter((d) => d !== id) });
  if (form.engine === 'ollama') return <OllamaSettings form={form} />;
  return (
    <section className="deploy-section deploy-settings" aria-label="How it runs">
      <label className="field">
        <span>Name</span>
        <input type="text" value={form.name} placeholder="my-model" spellCheck={false} onChange={(e) => update({ name: e.target.value, nameTouched: true })} />
      </label>
      <label className="field">
        <span>Engine</span>
        <select value={form.engine} onChange={(e) => update({ engine: e.target.value as DeployForm['engine'] })} disabled={form.source !== 'hub-id'}>
          {form.source !== 'hub-id' && <option value="llama.cpp">llama.cpp (llama-server)</option>}
          {form.source === 'hub-id' && <option value="vllm">vLLM</option>}
          {form.source === 'hub-id' && <option value="sglang">SGLang</option>}
        </select>
      </label>
      <label className="field">
        <span>Mode</span>
        <select value={form.mode} onChange={(e) => update({ mode: e.target.value as DeployForm['mode'] })}>
          <option>Chat</option>
          <option>Base</option>
          <option>Embedding</option>
          <option>Reranker</option>
        </select>
      </label>
      <label className="field">
        <span>Aliases</span>
        <input type="text" value={form.aliases} placeholder="gpt-4o-mini, local" spellCheck={false} onChange={(e) => update({ aliases: e.target.value })} />
      </label>
      <fieldset className="field deploy-devices">
        <legend>Runs on</legend>
        {gpus.length === 0 ? (
          <span className="muted small">The CPU (no GPU is monitored{devices.length === 0 ? '' : ' or online'}).</span>
        ) : (
          <div className="device-choices">
            {gpus.map((g) => (
              <label key={g.id} className="toggle">
                <input type="checkbox" checked={form.devices.includes(g.id)} onChange={(e) => toggleGpu(g.id, e.target.checked)} />
                {g.name} <span className="muted small">({g.id}, {formatMb(g.memory?.freeMb)} free)</span>
              </label>
            ))}
            {form.devices.length === 0 && <span className="muted small">No GPU chosen: it runs on the CPU.</span>}
          </div>
        )}
      </fieldset>
      <label className="field">
        <span>{form.engine === 'llama.cpp' ? 'Context (tokens)' : 'Max model length (tokens)'}</span>
        <input type="text" inputMode="numeric" value={form.context} placeholder={entry?.contextLength ? String(Math.min(entry.contextLength, 8192)) : form.engine === 'llama.cpp' ? '4096' : "the model's own"} onChange={(e) => update({ context: e.target.value })} />
      </label>
      {form.engine === 'llama.cpp' && (
        <label className="field">
          <span>GPU layers</span>
          <input type="text" value={form.gpuLayers} placeholder={form.devices.length > 0 ? 'all' : '0'} disabled={form.devices.length === 0} onChange={(e) => update({ gpuLayers: e.target.value })} />
        </label>
      )}
      <label className="field">
        <span>Memory (MB)</span>
        <input type="text" inputMode="numeric" value={form.memoryMb} placeholder={estimate ? String(estimate.totalMb) : form.engine === 'llama.cpp' ? '' : '90 % of each GPU'} onChange={(e) => update({ memoryMb: e.target.value })} />
      </label>
      <div className="deploy-fit" aria-live="polite">
        {estimate && (
          <p className="muted small">
            Estimate: {formatMb(estimate.weightsMb)} of weights + {formatMb(estimate.contextMb)} for the context + buffers ≈ <strong>{formatMb(estimate.totalMb)}</strong>
          </p>
        )}
        {fit?.free.map((f) => (
          <div key={f.id} className="fit-row">
            <span className="fit-label">
              {formatMb(fit.needMb)} on {f.name}
            </span>
            <MemoryFitBar needMb={fit.needMb} freeMb={f.freeMb} totalMb={f.totalMb} />
            <span className={f.freeMb !== null && f.freeMb < fit.needMb ? 'fit-free is-short' : 'fit-free muted'}>{f.freeMb === null ? 'free memory unknown' : `${formatMb(f.freeMb)} free`}</span>
          </div>
        ))}
        {fit && !fit.fits && <p className="fit-warning">It needs more than is free now: models that are idle are stopped to make room when it starts; otherwise lower the context or choose another GPU.</p>}
      </div>
    </section>
  );
}

/** Ollama places and sizes the model itself: only what this node needs to know. */
function OllamaSettings({ form }: { form: DeployForm }) {
  return (
    <section className="deploy-section deploy-settings" aria-label="How it runs">
      <label className="field">
        <span>Name</span>
        <input type="text" value={form.name} placeholder="my-model" spellCheck={false} onChange={(e) => update({ name: e.target.value, nameTouched: true })} />
      </label>
      <label className="field">
        <span>Mode</span>
        <select value={form.mode} onChange={(e) => update({ mode: e.target.value as DeployForm['mode'] })}>
          <option>Chat</option>
          <option>Base</option>
          <option>Embedding</option>
        </select>
      </label>
      <label className="field">
        <span>Aliases</span>
        <input type="text" value={form.aliases} placeholder="gpt-4o-mini, local" spellCheck={false} onChange={(e) => update({ aliases: e.target.value })} />
      </label>
      <p className="muted small">Ollama chooses the GPU and memory; the Devices page shows what it holds for this model.</p>
    </section>
  );
}

function MemoryFitBar({ needMb, freeMb, totalMb }: { needMb: number; freeMb: number | null; totalMb: number | null }) {
  if (totalMb === null || freeMb === null || totalMb <= 0) return <span className="fit-bar" />;
  const used = totalMb - freeMb;
  const pct = (mb: number) => `${Math.max(0, Math.min(100, (mb / totalMb) * 100))}%`;
  return (
    <span className="fit-bar" aria-hidden="true">
      <span className="fit-used" style={{ width: pct(used) }} />
      <span className={needMb > freeMb ? 'fit-need is-short' : 'fit-need'} style={{ width: pct(Math.min(needMb, freeMb)) }} />
    </span>
  );
}

function PreviewAndSave({ form }: { form: DeployForm }) {
  const reachable = useStore(nodeReachable);
  const why = missing(form);
  const spec = useMemo(() => specOf(form), [form]);
  const key = JSON.stringify(spec);
  const [preview, setPreview] = useState<{ key: string; value: DeployPreview | null; error: string | null } | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);

  // Asked again a moment after the form stops changing.
  useEffect(() => {
    setSaveError(null);
    if (why !== null) return;
    let current = true;
    const timer = setTimeout(() => {
      manager.previewDeploy(spec).then(
        (value) => current && setPreview({ key, value, error: null }),
        (err: unknown) => current && setPreview({ key, value: null, error: errorText(err) }),
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, why]);

  const shown = why === null ? preview : null;
  const fresh = shown?.key === key;
  const save = (start: boolean) => {
    setSaving(true);
    setSaveError(null);
    manager
      .deployModel(spec)
      .then((result) => {
        if (!result.saved.ok) {
          setSaveError(result.saved.issues.map((i) => i.message).join(' ') || result.saved.message);
          return;
        }
        showToast(result.saved.message, result.saved.issues.some((i) => i.severity === 'warning') ? 'warning' : 'success', { key: 'config-save' });
        if (start && result.model) toggleRunning(result.model);
        formStore.set(EMPTY_FORM);
        navigate('models');
      })
      .catch((err: unknown) => setSaveError(errorText(err)))
      .finally(() => setSaving(false));
  };

  return (
    <section className="deploy-section deploy-preview" aria-label="What it writes">
      {why !== null ? (
        <p className="muted">{why}</p>
      ) : shown?.error ? (
        <ErrorNotice title="This can't be saved yet" message={capitalized(shown.error)} />
      ) : !shown?.value ? (
        <Skeleton width="60%" height="2em" />
      ) : (
        <>
          {shown.value.command !== '' && <div className="preview-block">
            <div className="preview-title">
              <span>Command</span>
              <CopyButton text={shown.value.command} label="Copy the command" />
            </div>
            <pre className="mono preview-text" data-testid="deploy-command">
              {shown.value.command}
            </pre>
          </div>}
          <div className="preview-block">
            <div className="preview-title">
              <span>
                Added to <a href={hrefFor('config')}>config.yaml</a> under Local-Models
              </span>
            </div>
            <pre className="mono preview-text" data-testid="deploy-entry">
              {shown.value.entry}
            </pre>
          </div>
          {shown.value.issues.length > 0 && (
            <ul className="issues deploy-issues">
              {shown.value.issues.map((issue, i) => (
                <li key={i} className={`issue issue-${issue.severity}`}>
                  <span className="issue-sev">{issue.severity === 'error' ? 'Error' : 'Warning'}</span> {issue.message}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {saveError && <ErrorNotice title="Not saved" message={capitalized(saveError)} />}
      <div className="deploy-actions">
        <button type="button" className="button" disabled={why !== null || saving || !reachable || !fresh || !shown?.value?.ok} onClick={() => save(false)}>
          Save
        </button>
        <button type="button" className="button button-primary" disabled={why !== null || saving || !reachable || !fresh || !shown?.value?.ok} onClick={() => save(true)}>
          Save and start
        </button>
      </div>
    </section>
  );
}

/** The core's messages start in lower case (they are written to follow "x: "); alone, they start a sentence. */
function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Sizes of downloads: one decimal below 10 MB, so a small file's bar reads as moving. */
function formatSize(bytes: number): string {
  const mb = bytes / MIB;
  return mb < 10 ? `${mb.toFixed(1)} MB` : formatMb(mb);
}

function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)} B`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} M`;
  return n >= 1e3 ? `${Math.round(n / 1e3)} K` : String(n);
}
