// GET /metrics: the node in Prometheus' text format (0.0.4), for a headless node on a server —
// each model's state, requests, starts and failures, the last start's duration, VRAM held, and the
// GPUs' memory, load, temperature and power. Read when scraped; nothing is kept for it but the
// supervisors' own counters.
import type { DeviceReading, ModelState } from '../../src-shared/contract.js';

export interface ModelMetrics {
  name: string;
  state: ModelState;
  inFlight: number;
  requests: number;
  starts: number;
  failures: number;
  lastStartMs: number | null;
  vramMb: number | null;
}

export interface MetricsInput {
  version: string;
  held: boolean;
  models: readonly ModelMetrics[];
  devices: readonly DeviceReading[];
  fastPath: { served: number; handedOff: number } | null;
}

const STATES: readonly ModelState[] = ['stopped', 'starting', 'ready', 'stopping', 'failed'];
const MB = 1024 * 1024;

/** A label value as the format wants it: backslash, double quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(input: MetricsInput): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: [labels: Record<string, string>, value: number | null][]) => {
    const kept = samples.filter(([, value]) => value !== null && Number.isFinite(value));
    if (kept.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of kept) {
      const keys = Object.entries(labels);
      out.push(`${name}${keys.length > 0 ? `{${keys.map(([k, v]) => `${k}="${label(v)}"`).join(',')}}` : ''} ${value}`);
    }
  };
  const perModel = (pick: (m: ModelMetrics) => number | null) => input.models.map((m): [Record<string, string>, number | null] => [{ model: m.name }, pick(m)]);

  family('llm_manager_info', 'gauge', 'Always 1; the version in a label.', [[{ version: input.version }, 1]]);
  family('llm_manager_models_held', 'gauge', '1 while models are held off (Hold models): none starts on request.', [[{}, input.held ? 1 : 0]]);
  family(
    'llm_manager_model_state',
    'gauge',
    '1 for the state each model is in, 0 for the others.',
    input.models.flatMap((m) => STATES.map((state): [Record<string, string>, number] => [{ model: m.name, state }, m.state === state ? 1 : 0])),
  );
  family('llm_manager_model_requests_in_flight', 'gauge', 'Requests the model is answering or waiting to start for.', perModel((m) => m.inFlight));
  family('llm_manager_model_requests_total', 'counter', 'Requests routed to the model since the node started.', perModel((m) => m.requests));
  family('llm_manager_model_starts_total', 'counter', 'Engine starts begun since the node started.', perModel((m) => m.starts));
  family('llm_manager_model_failures_total', 'counter', 'Times the model turned failed: a start that failed, a crash, a hang.', perModel((m) => m.failures));
  family('llm_manager_model_last_start_seconds', 'gauge', 'Spawn to ready, of the last start that got there.', perModel((m) => (m.lastStartMs === null ? null : m.lastStartMs / 1000)));
  family('llm_manager_model_vram_bytes', 'gauge', 'GPU memory the engine holds, where the driver reports it per process.', perModel((m) => (m.vramMb === null ? null : m.vramMb * MB)));

  const gpus = input.devices.filter((d) => d.kind === 'gpu' && d.online);
  const perGpu = (pick: (d: DeviceReading) => number | null) => gpus.map((d): [Record<string, string>, number | null] => [{ device: d.id, name: d.name }, pick(d)]);
  family('llm_manager_gpu_memory_total_bytes', 'gauge', 'Memory of each online GPU.', perGpu((d) => (d.memory ? d.memory.totalMb * MB : null)));
  family('llm_manager_gpu_memory_used_bytes', 'gauge', 'Memory in use on each online GPU, by any process.', perGpu((d) => (d.memory ? d.memory.usedMb * MB : null)));
  family('llm_manager_gpu_utilization_ratio', 'gauge', 'GPU load, 0 to 1.', perGpu((d) => (d.utilizationPct === null ? null : d.utilizationPct / 100)));
  family('llm_manager_gpu_temperature_celsius', 'gauge', 'GPU temperature.', perGpu((d) => d.temperatureC));
  family('llm_manager_gpu_power_watts', 'gauge', 'GPU power draw.', perGpu((d) => d.powerW));

  if (input.fastPath) {
    family('llm_manager_router_fast_path_requests_total', 'counter', 'Requests relayed by the fast path (plain requests to ready models).', [[{}, input.fastPath.served]]);
    family('llm_manager_router_handed_off_total', 'counter', 'Connections the fast path handed to the full HTTP server.', [[{}, input.fastPath.handedOff]]);
  }
  return `${out.join('\n')}\n`;
}
