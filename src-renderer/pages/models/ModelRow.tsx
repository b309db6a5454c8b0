import type { Ref } from 'react';
import { actionFor } from '../../../src-shared/action-guard.js';
import type { ModelInfo } from '../../../src-shared/contract.js';
import { loadingView, type LoadingView } from '../../../src-shared/loading.js';
import { StateBadge } from '../../app/common.js';
import { ChevronIcon } from '../../app/icons.js';
import { DASH, formatDateTime, formatDuration, formatRemaining } from '../../lib/format.js';
import { formatHeld, UNSPLIT_HINT, type Held } from '../../lib/held-memory.js';
import { navigate } from '../../lib/router.js';
import { LogText } from '../logs/LogText.js';
import { RemoveModel } from './RemoveModel.js';
import { UsageToday } from '../usage/today.js';
import './remote.css';

interface ModelRowProps {
  model: ModelInfo;
  /** GPU memory it holds; null: no figure (no GPU monitored, nothing on a GPU). */
  vram: Held | null;
  now: number;
  open: boolean;
  tabIndex: number;
  rowRef: Ref<HTMLTableRowElement>;
  onFocus: () => void;
  onToggleDetails: () => void;
  onToggleRunning: () => void;
  /** The node doesn't answer: what the row shows may be stale, and its action can't work. */
  offline: boolean;
  columns: number;
}

const ACTION_LABEL = { start: 'Start', cancel: 'Cancel start', stop: 'Stop' } as const;

export function ModelRow({ model, vram, now, open, tabIndex, rowRef, onFocus, onToggleDetails, onToggleRunning, offline, columns }: ModelRowProps) {
  const detailsId = `model-details-${model.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const idle = model.idleStopAt ? `stops in ${formatRemaining(Date.parse(model.idleStopAt) - now)}` : DASH;
  // Stopping has nothing to do: its button stays, greyed, so the column keeps its shape.
  const action = actionFor(model.state) ?? 'stop';
  const reason = model.state === 'failed' ? (model.lastError?.message ?? null) : null;
  const loading = loadingView(model, now);
  // A peer that stopped answering: its models stay listed, greyed, with why, until it is back.
  const away = model.upstream?.kind === 'peer' && model.state === 'failed';
  return (
    <>
      <tr
        ref={rowRef}
        tabIndex={tabIndex}
        className={`model-row state-${model.state}${open ? ' is-open' : ''}${reason ? ' has-reason' : ''}${model.upstream ? ' is-remote' : ''}${away ? ' is-away' : ''}`}
        data-model={model.name}
        aria-expanded={open}
        aria-controls={detailsId}
        onFocus={(e) => e.target === e.currentTarget && onFocus()}
        onClick={(e) => {
          if ((e.target as HTMLElement).closest('button, a')) return;
          onToggleDetails();
        }}
      >
        <td className="col-state">
          <StateBadge state={model.state} startedAt={model.startedAt} now={now} />
          {/* A thin bar along the cell's foot: the row keeps its height while it loads. */}
          {loading && loading.fraction !== null && <LoadingBar view={loading} name={model.name} />}
        </td>
        <td className="col-name">
          <div className="name-cell">
            <span className="disclosure">
              <ChevronIcon open={open} />
            </span>
            {/* Aliases that don't fit wrap under the name, not under the chevron. */}
            <span className="name-line">
              <span className="model-name" title={model.name}>
                {model.name}
              </span>
              {model.upstream && <UpstreamChip upstream={model.upstream} />}
              {model.aliases.map((alias) => (
                <span key={alias} className="chip" title="alias">
                  {alias}
                </span>
              ))}
            </span>
          </div>
        </td>
        <td className="col-mode">{model.mode}</td>
        <td className="num col-port mono" title={model.port === null ? 'a free port is given at start (program.engine_ports)' : undefined}>
          {model.upstream ? <span className="muted">{DASH}</span> : model.port ?? <span className="muted">auto</span>}
        </td>
        <td className="col-profile" title={model.profile ?? undefined}>
          {model.profile ?? <span className="muted">{DASH}</span>}
        </td>
        <td className="num col-vram" title={vram && vram.basis !== 'measured' ? `${formatHeld(vram)}. ${UNSPLIT_HINT}` : undefined}>
          {(model.pid === null && model.upstream?.kind !== 'ollama') || !vram ? DASH : vram.basis === 'unknown' ? <span className="muted">{formatHeld(vram)}</span> : formatHeld(vram)}
        </td>
        <td className="num col-inflight">{model.state === 'ready' || model.inFlight > 0 ? model.inFlight : DASH}</td>
        <td className="num col-today">
          <UsageToday model={model.name} />
        </td>
        <td className="col-idle muted">{idle}</td>
        <td className="col-action">
          <button
            type="button"
            className={action === 'start' ? 'button button-primary' : 'button'}
            disabled={model.state === 'stopping' || offline}
            onClick={onToggleRunning}
            aria-label={`${ACTION_LABEL[action]} ${model.name}`}
            data-action={action}
          >
            {ACTION_LABEL[action]}
          </button>
        </td>
      </tr>
      {reason && (
        // Why it failed, once, in one line under the row (the whole text on hover; details add the log lines).
        <tr className="reason-row" onClick={onToggleDetails}>
          <td />
          <td colSpan={columns - 1}>
            <span className="failure-reason" title={reason}>
              {reason}
            </span>
          </td>
        </tr>
      )}
      {open && (
        <tr className="details-row" id={detailsId}>
          <td colSpan={columns}>
            <ModelDetails model={model} loading={loading} offline={offline} />
          </td>
        </tr>
      )}
    </>
  );
}

/** Where a model's requests go when this node doesn't run it: a peer, Ollama, or another server (never its key). */
function UpstreamChip({ upstream }: { upstream: NonNullable<ModelInfo['upstream']> }) {
  const label = upstream.kind === 'peer' ? `peer: ${upstream.peer ?? upstream.url}` : upstream.kind === 'ollama' ? 'Ollama' : 'remote';
  const title = upstream.kind === 'peer' ? `served by the LLM Manager node at ${upstream.url}` : upstream.kind === 'ollama' ? `served by Ollama at ${upstream.url}` : `proxied to ${upstream.url}`;
  return (
    <span className="chip chip-remote" title={title} data-upstream={upstream.kind}>
      {label}
    </span>
  );
}

function LoadingBar({ view, name, wide = false }: { view: LoadingView; name: string; wide?: boolean }) {
  const pct = Math.floor((view.fraction ?? 0) * 100);
  return (
    <span className={`load-bar${wide ? ' load-bar-wide' : ''}`} role="progressbar" aria-label={`Loading ${name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={view.text} title={view.text}>
      <span style={{ width: `${pct}%` }} />
    </span>
  );
}

function ModelDetails({ model, loading, offline }: { model: ModelInfo; loading: LoadingView | null; offline: boolean }) {
  const error = model.lastError;
  const errorLines = error?.errorLines ?? [];
  const failed = model.state === 'failed';
  // PID, start and ready times belong to an engine that runs; a failed start may never have launched one.
  const running = model.state === 'starting' || model.state === 'ready' || model.state === 'stopping';
  return (
    <div className="model-details">
      {error && (
        <section className="failure" aria-label="Why it failed">
          {/* A failed row says why in its own line; only an earlier failure is told here. */}
          {!failed && (
            <p className="failure-reason-full">
              <strong>Last failure: </strong>
              {error.message}
            </p>
          )}
          <p className="muted small">
            {failed ? 'Failed ' : ''}
            {formatDateTime(error.at)}
            {errorLines.length === 0 && ` · ${error.logTail.length > 0 ? "the engine's last lines:" : 'no output from the engine'}`}
          </p>
          {/* The lines that say what went wrong first, then what led up to them. */}
          {errorLines.length > 0 && (
            <pre className="log-tail error-lines mono" data-testid="error-lines" aria-label="The engine's error lines">
              {errorLines.map((line, i) => (
                <div key={i}>
                  <LogText text={line} search="" />
                </div>
              ))}
            </pre>
          )}
          {errorLines.length > 0 && error.logTail.length > 0 && <p className="muted small">The engine's last lines:</p>}
          {error.logTail.length > 0 && (
            <pre className="log-tail mono" data-testid="log-tail">
              {error.logTail.map((line, i) => (
                <div key={i} className={errorLines.includes(line) ? 'tail-error' : undefined}>
                  <LogText text={line} search="" />
                </div>
              ))}
            </pre>
          )}
          <div className="failure-actions">
            <button type="button" className="button" onClick={() => navigate('logs', model.name)}>
              Open full log
            </button>
            <RemoveModel name={model.name} disabled={offline} />
          </div>
        </section>
      )}
      {loading && (
        <section className="loading" aria-label="Loading progress">
          <p>
            <strong>Loading: </strong>
            {loading.fraction !== null && <LoadingBar view={loading} name={model.name} wide />}
            <span className="num" data-testid="loading-text">
              {loading.text}
            </span>
          </p>
          <p className="muted small">{model.loading?.source === 'engine' ? "As the engine's log reports it." : model.loading?.source === 'estimate' ? 'Estimated from how long the last start took.' : 'The engine reports no progress; its first start has no earlier one to compare with.'}</p>
        </section>
      )}
      <dl className="facts">
        <div className="fact-narrow">
          <dt>Mode</dt>
          <dd>{model.mode}</dd>
        </div>
        <div className="fact-narrow">
          <dt>In flight</dt>
          <dd className="num">{model.inFlight}</dd>
        </div>
        {running && (
          <>
            <div>
              <dt>PID</dt>
              <dd className="mono">{model.pid ?? DASH}</dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>{formatDateTime(model.startedAt)}</dd>
            </div>
            <div>
              <dt>Ready</dt>
              <dd>{formatDateTime(model.readyAt)}</dd>
            </div>
          </>
        )}
        <div>
          <dt>Profile</dt>
          <dd>{model.profile ?? DASH}</dd>
        </div>
        <div>
          <dt>Last request</dt>
          <dd>{formatDateTime(model.lastUsed)}</dd>
        </div>
        <div>
          <dt>Stops when idle for</dt>
          <dd>{model.aliveTimeMs > 0 && !model.keep && !model.resident ? formatDuration(model.aliveTimeMs) : 'never'}</dd>
        </div>
        <div>
          <dt>Starts with the app</dt>
          <dd>{model.autoStart || model.resident ? 'yes' : 'no'}</dd>
        </div>
        {(model.keep || model.resident || model.exclusiveGroup) && (
          <div>
            <dt>Stays</dt>
            <dd>
              {[model.keep ? 'kept (never stopped to make room)' : null, model.resident ? 'resident (comes back when its devices are free)' : null, model.exclusiveGroup ? `never with others of "${model.exclusiveGroup}"` : null]
                .filter(Boolean)
                .join('; ')}
            </dd>
          </div>
        )}
      </dl>
      {model.launch && (
        <div className="launch">
          <p className="muted small">Command of the {model.state === 'starting' || model.state === 'ready' ? 'current' : 'last'} start:</p>
          <pre className="mono small launch-command">{model.launch}</pre>
        </div>
      )}
      {model.skippedProfiles.length > 0 && (
        <div className="skipped">
          <p className="muted small">Profiles passed over at the last start:</p>
          <ul>
            {model.skippedProfiles.map((s) => (
              <li key={s.profile}>
                <strong>{s.profile}</strong>: {s.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      {!error && (
        <div className="failure-actions">
          <button type="button" className="button" onClick={() => navigate('logs', model.name)}>
            Open log
          </button>
          <RemoveModel name={model.name} disabled={offline} />
        </div>
      )}
    </div>
  );
}
