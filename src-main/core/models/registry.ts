import { isDeepStrictEqual } from 'node:util';
import type { ModelConfig } from '../../../src-shared/config.js';
import type { ModelSupervisor } from './supervisor.js';

export interface RegistryChange {
  added: string[];
  removed: string[];
  changed: string[];
  /** Of `changed`, the running models that restart with their new launch once idle. */
  restarting: string[];
}

/** The configured models by name and alias (case-insensitive), in config order. */
export class ModelRegistry {
  private supervisors: ModelSupervisor[] = [];
  private lookup = new Map<string, ModelSupervisor>();
  /** served_model_name → its model, where no name or alias and no other model claims it. */
  private served = new Map<string, ModelSupervisor>();

  constructor(private readonly create: (config: ModelConfig) => ModelSupervisor) {}

  list(): readonly ModelSupervisor[] {
    return this.supervisors;
  }

  resolve(nameOrAlias: string): ModelSupervisor | undefined {
    const key = nameOrAlias.toLowerCase();
    // A client that spoke to vLLM directly asks for its served name: that finds the model too.
    return this.lookup.get(key) ?? this.served.get(key);
  }

  /** Every name and alias a request may use, for "model not found" messages. */
  names(): string[] {
    return this.supervisors.flatMap((s) => [s.name, ...s.latestConfig.aliases]);
  }

  /**
   * Brings the registry in line with a (re)loaded config: new models are added, removed ones are
   * stopped and dropped, changed ones are handed their new definition (a running one restarts
   * when idle if its launch changed).
   */
  apply(models: ModelConfig[], onRemoved: (supervisor: ModelSupervisor) => void = () => undefined): RegistryChange {
    const previous = new Map(this.supervisors.map((s) => [s.name, s]));
    const change: RegistryChange = { added: [], removed: [], changed: [], restarting: [] };
    const next: ModelSupervisor[] = [];
    for (const config of models) {
      const existing = previous.get(config.name);
      if (existing) {
        previous.delete(config.name);
        if (!isDeepStrictEqual(existing.model, config)) change.changed.push(config.name);
        if (existing.reconfigure(config) === 'restart-when-idle') change.restarting.push(config.name);
        next.push(existing);
      } else {
        next.push(this.create(config));
        change.added.push(config.name);
      }
    }
    for (const removed of previous.values()) {
      change.removed.push(removed.name);
      onRemoved(removed);
    }
    this.supervisors = next;
    this.lookup = new Map();
    // Names come from the new definitions: an alias added to a running model routes at once,
    // even while the engine waits for an idle moment to restart with the rest of the change.
    for (const supervisor of next) {
      for (const key of [supervisor.name, ...supervisor.latestConfig.aliases]) this.lookup.set(key.toLowerCase(), supervisor);
    }
    this.served = new Map();
    const shared = new Set<string>();
    for (const supervisor of next) {
      const key = supervisor.latestConfig.servedModelName?.toLowerCase();
      if (key === undefined || this.lookup.has(key)) continue;
      if (this.served.has(key)) shared.add(key);
      this.served.set(key, supervisor);
    }
    for (const key of shared) this.served.delete(key);
    return change;
  }
}
