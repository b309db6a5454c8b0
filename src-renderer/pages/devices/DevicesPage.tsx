// One block per device: what holds its memory, how busy and hot it is, and the last 10 minutes.
import type { DeviceReading } from '../../../src-shared/contract.js';
import { EmptyState, ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { useDeviceHistory, useDevices, useModels } from '../../api/queries.js';
import { declaredFrom, splitKnown, UNSPLIT_HINT, type Declared } from '../../lib/held-memory.js';
import { formatClock, formatPct, formatTemp, formatWatts } from '../../lib/format.js';
import { hrefFor } from '../../lib/router.js';
import { useStore } from '../../lib/store.js';
import { errorText } from '../../lib/toasts.js';
import { DeviceChart } from './DeviceChart.js';
import { deviceHistory, type DeviceHistory } from './history.js';
import { MemoryBar } from './MemoryBar.js';
import { memorySegments } from './segments.js';

export function DevicesPage() {
  const devices = useDevices();
  const models = useModels();
  // The node's last 10 minutes, once per open page: live readings append to it from then on.
  useDeviceHistory();
  const history = useStore(deviceHistory);
  const declared = declaredFrom(models.data);
  const snapshot = devices.data;
  const gpus = snapshot?.devices.filter((d) => d.kind === 'gpu') ?? [];
  const host = snapshot?.devices.filter((d) => d.kind !== 'gpu') ?? [];

  return (
    <div className="page-body">
      <PageHeader title="Devices">{snapshot && <span className="hint">Updated {formatClock(snapshot.at)}</span>}</PageHeader>
      {devices.isError && !snapshot ? (
        <ErrorNotice title="Couldn't read the devices" message={`${errorText(devices.error)} Readings resume once LLM Manager answers.`} retry={() => void devices.refetch()} />
      ) : !snapshot ? (
        <div className="device-list">
          <DeviceSkeleton />
        </div>
      ) : (
        <div className="device-list">
          <GpuSection disabled={snapshot.monitoringDisabled} gpus={gpus} history={history} declared={declared} />
          {host.map((d) => (
            <DeviceBlock key={d.id} device={d} history={history.get(d.id)} declared={declared} />
          ))}
        </div>
      )}
    </div>
  );
}

/**
 * GPUs, or why there are none. nvidia-smi missing shows as one offline placeholder card without an
 * index; monitoring switched off still shows cards read on demand, under a note.
 */
function GpuSection({ disabled, gpus, history, declared }: { disabled: boolean; gpus: DeviceReading[]; history: ReadonlyMap<string, DeviceHistory>; declared: Declared }) {
  const cards = gpus.filter((g) => g.online || g.index !== null);
  const missing = gpus.find((g) => !g.online && g.index === null);
  const disabledText = (
    <p>
      Models start with their first launch profile without checking free memory. Set <code className="mono">Disable_GPU_monitoring: false</code> in{' '}
      <a href={hrefFor('config')}>Config</a> to have GPUs watched.
    </p>
  );
  if (cards.length === 0) {
    return disabled ? (
      <EmptyState title="GPU monitoring is disabled in config">{disabledText}</EmptyState>
    ) : (
      <EmptyState title="No GPUs found — nvidia-smi not available">
        <p>Models run on the CPU. Install the NVIDIA driver (it brings nvidia-smi) to see GPU memory and load here.</p>
        {missing?.offlineReason && <p className="small">{missing.offlineReason}</p>}
      </EmptyState>
    );
  }
  return (
    <>
      {disabled && (
        <div className="notice notice-warn" role="note">
          <div>
            <strong>GPU monitoring is disabled in config.</strong>
            {disabledText}
          </div>
        </div>
      )}
      {cards.map((d) => (
        <DeviceBlock key={d.id} device={d} history={history.get(d.id)} declared={declared} />
      ))}
    </>
  );
}

function DeviceBlock({ device, history, declared }: { device: DeviceReading; history: DeviceHistory | undefined; declared: Declared }) {
  const title = device.kind === 'gpu' ? `GPU ${device.index ?? ''}`.trim() : device.kind === 'cpu' ? 'CPU' : 'Memory';
  return (
    <section className={`device${device.online ? '' : ' device-offline'}`} aria-label={`${title}: ${device.name}`} data-device={device.id}>
      <header className="device-head">
        <div>
          <h2>
            <span className="device-kind">{title}</span> {device.name}
          </h2>
          {!device.online && <p className="offline-reason">Offline — {device.offlineReason ?? 'no reading'}</p>}
        </div>
        {device.online && (
          <dl className="device-stats">
            {device.kind !== 'ram' && (device.kind === 'gpu' || device.utilizationPct !== null) && (
              <div>
                <dt>Utilisation</dt>
                <dd className="num">{formatPct(device.utilizationPct)}</dd>
              </div>
            )}
            {device.kind !== 'ram' && (device.kind === 'gpu' || device.temperatureC !== null) && (
              <div>
                <dt>Temperature</dt>
                <dd className="num">{formatTemp(device.temperatureC)}</dd>
              </div>
            )}
            {device.powerW !== null && (
              <div>
                <dt>Power</dt>
                <dd className="num">{formatWatts(device.powerW)}</dd>
              </div>
            )}
          </dl>
        )}
      </header>
      {device.memory ? (
        <>
          <MemoryBar label={`${title} memory`} segments={memorySegments(device, declared)} total={device.memory.totalMb} />
          {!splitKnown(device) && <p className="hint membar-note">{UNSPLIT_HINT}</p>}
        </>
      ) : device.utilizationPct !== null ? (
        <MemoryBar
          label={`${title} load`}
          // Whole percent, so busy and idle add up to 100 % as shown.
          segments={[{ key: 'load', label: 'busy', value: Math.round(device.utilizationPct), kind: 'used' }]}
          total={100}
          format={(v) => `${Math.round(v)} %`}
          freeLabel="idle"
          showTotal={false}
        />
      ) : null}
      {device.online && <DeviceChart history={history} memory={device.memory !== null} utilisation={device.kind !== 'ram'} label={title} />}
    </section>
  );
}

function DeviceSkeleton() {
  return (
    <section className="device" aria-hidden="true">
      <header className="device-head">
        <Skeleton width="14em" height="1.1em" />
      </header>
      <Skeleton height="14px" />
      <div style={{ height: 8 }} />
      <Skeleton width="60%" />
      <div className="chart" style={{ height: 120 }} />
    </section>
  );
}
