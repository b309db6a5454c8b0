// One block per device: what holds its memory, how busy and hot it is, and the last 10 minutes.
import type { DeviceReading } from '../../../src-shared/contract.js';
import { EmptyState, ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { useDevices } from '../../api/queries.js';
import { formatClock, formatPct, formatTemp, formatWatts } from '../../lib/format.js';
import { hrefFor } from '../../lib/router.js';
import { useStore } from '../../lib/store.js';
import { colorSlot } from '../../lib/theme.js';
import { errorText } from '../../lib/toasts.js';
import { DeviceChart } from './DeviceChart.js';
import { deviceHistory, type DeviceHistory } from './history.js';
import { MemoryBar, type BarSegment } from './MemoryBar.js';

export function DevicesPage() {
  const devices = useDevices();
  const history = useStore(deviceHistory);
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
          <GpuSection disabled={snapshot.monitoringDisabled} gpus={gpus} history={history} />
          {host.map((d) => (
            <DeviceBlock key={d.id} device={d} history={history.get(d.id)} />
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
function GpuSection({ disabled, gpus, history }: { disabled: boolean; gpus: DeviceReading[]; history: ReadonlyMap<string, DeviceHistory> }) {
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
        <DeviceBlock key={d.id} device={d} history={history.get(d.id)} />
      ))}
    </>
  );
}

function DeviceBlock({ device, history }: { device: DeviceReading; history: DeviceHistory | undefined }) {
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
        <MemoryBar label={`${title} memory`} segments={memorySegments(device)} total={device.memory.totalMb} />
      ) : device.utilizationPct !== null ? (
        <MemoryBar
          label={`${title} load`}
          segments={[{ key: 'load', label: 'busy', value: device.utilizationPct, kind: 'used' }]}
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

/** Engines as their own segments (summed over their processes), the rest of used memory as "other". */
function memorySegments(device: DeviceReading): BarSegment[] {
  const byModel = new Map<string, number>();
  for (const h of device.holders) if (h.model !== null) byModel.set(h.model, (byModel.get(h.model) ?? 0) + h.usedMb);
  const ours = [...byModel.values()].reduce((a, b) => a + b, 0);
  const segments: BarSegment[] = [...byModel].map(([model, mb]) => ({ key: `m:${model}`, label: model, value: mb, kind: 'model', slot: colorSlot(model) }));
  const other = Math.max(0, (device.memory?.usedMb ?? 0) - ours);
  if (other > 0 || segments.length === 0) segments.push({ key: 'other', label: 'other processes', value: other, kind: 'other' });
  return segments;
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
