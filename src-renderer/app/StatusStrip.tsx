// Top of every page: is the endpoint up, where is it, what runs, and what it holds in VRAM.
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { queryKeys, useDevices, useHealth, useModels } from '../api/queries.js';
import { apiKey, forgetKey, isUnauthorized } from '../api/auth.js';
import { eventsConnected, manager, nodeReachable, transport } from '../api/manager.js';
import { errorText, showToast } from '../lib/toasts.js';
import { heldSummary, UNSPLIT_HINT } from '../lib/held-memory.js';
import { useStore } from '../lib/store.js';
import { CopyButton, Skeleton } from './common.js';

export function StatusStrip() {
  const health = useHealth();
  const models = useModels();
  const devices = useDevices();
  const live = useStore(eventsConnected);
  const reachable = useStore(nodeReachable);
  const key = useStore(apiKey);

  const router = isUnauthorized(health.error)
    ? { tone: 'warn', text: 'Needs an API key', title: 'LLM Manager answers, but only to requests with one of program.api_keys.' }
    : health.isError || !reachable
      ? { tone: 'bad', text: 'Not reachable', title: 'LLM Manager does not answer. Start it again, then this page reconnects.' }
      : !health.data
        ? { tone: 'idle', text: 'Connecting…', title: '' }
        : transport === 'http' && !live
          ? { tone: 'warn', text: 'Reconnecting', title: 'The endpoint answers but live updates dropped; reconnecting.' }
          : { tone: 'ok', text: 'Online', title: `LLM Manager ${health.data.version}, up ${Math.round(health.data.uptimeS / 60)} min` };

  const list = models.data ?? [];
  const running = list.filter((m) => m.state === 'ready').length;
  const starting = list.filter((m) => m.state === 'starting').length;

  const vram = heldSummary(devices.data, models.data);
  const vramTitle = !vram ? 'No GPUs are monitored' : `GPU memory held by our engines / total GPU memory${vram.approx ? `. ${UNSPLIT_HINT}` : ''}`;

  return (
    <header className="status-strip" aria-label="Status">
      <div className="status-item" title={router.title}>
        <span className={`status-dot status-${router.tone}`} aria-hidden="true" />
        <span data-testid="router-state">{router.text}</span>
      </div>
      <div className="status-item status-endpoint">
        <span className="status-label">Endpoint</span>
        {health.data ? (
          <>
            <code className="mono" data-testid="endpoint">{health.data.endpoint}</code>
            <CopyButton text={health.data.endpoint} label="Copy endpoint URL" />
          </>
        ) : (
          <Skeleton width="15em" />
        )}
      </div>
      <div className="status-item">
        <span className="status-label">Running</span>
        {models.data ? (
          <span data-testid="running-count">
            <span className="num">{running}</span> of <span className="num">{list.length}</span>
            {starting > 0 && <span className="status-sub"> · {starting} starting</span>}
          </span>
        ) : (
          <Skeleton width="4em" />
        )}
      </div>
      <div className="status-item" title={vramTitle}>
        <span className="status-label">VRAM</span>
        {devices.data || devices.isError ? (
          <span className="num" data-testid="vram">
            {vram ? vram.text : '—'}
          </span>
        ) : (
          <Skeleton width="6em" />
        )}
      </div>
      {health.data && <HoldSwitch heldSince={health.data.heldSince} disabled={!reachable} />}
      {transport === 'http' && key && (
        <div className="status-item status-key">
          <button
            type="button"
            className="button button-quiet"
            title="This browser sends an API key; forget it, and the page asks again"
            onClick={() => {
              forgetKey();
              window.location.reload();
            }}
          >
            Forget key
          </button>
        </div>
      )}
    </header>
  );
}

/** Hold models (for a game): stops every engine on this computer, starts none on request until released (a peer's models stay). */
function HoldSwitch({ heldSince, disabled }: { heldSince: string | null; disabled: boolean }) {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  const held = heldSince !== null;
  const toggle = () => {
    setBusy(true);
    (held ? manager.releaseModels() : manager.holdModels())
      .then(
        (health) => {
          client.setQueryData(queryKeys.health, health);
          showToast(health.heldSince ? 'Models held: every engine on this computer is stopped, and requests start none until you release them.' : 'Released: requests start models again.', 'info', { key: 'hold' });
        },
        (err: unknown) => showToast(`${held ? "Couldn't release the models" : "Couldn't hold the models"}: ${errorText(err)}`, 'error', { key: 'hold' }),
      )
      .finally(() => setBusy(false));
  };
  return (
    <div className={`status-item status-hold${held ? ' is-held' : ''}`} data-testid="hold">
      {held && (
        <span className="hold-chip" title={`Since ${new Date(heldSince).toLocaleTimeString()}: requests for stopped models get 503 models_held`}>
          Models held
        </span>
      )}
      <button
        type="button"
        className="button button-quiet"
        disabled={busy || disabled}
        onClick={toggle}
        title={held ? 'Let requests start models again' : 'Stop every model and start none on request until released (for a game)'}
        data-testid="hold-toggle"
      >
        {held ? 'Release' : busy ? 'Holding…' : 'Hold models'}
      </button>
    </div>
  );
}
