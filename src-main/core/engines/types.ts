// What an engine renderer gets and gives: typed fields in, a launch out (the supervisor only ever
// sees the launch, as for a hand-written command + args).
import type { EngineKind } from '../../../src-shared/config.js';

export interface RenderContext {
  /** The program and the words before the engine's own arguments (program.engines, else the default). */
  binary: readonly string[];
  /** The port the engine must listen on: a number, or "${PORT}" when it is given at each start. */
  port: number | string;
  /** The name the engine serves the model under (the model's name unless served_model_name says). */
  servedName: string;
}

export interface EngineLaunch {
  kind: EngineKind;
  command: string;
  args: string[];
  /** Answers 200 once the model is loaded. */
  healthPath: string;
  servedModelName: string;
}

/** 127.0.0.1 only: the router is the one door to an engine. */
export const ENGINE_HOST = '127.0.0.1';

export function flag(name: string, value: string | number | null | undefined): string[] {
  return value === null || value === undefined ? [] : [name, String(value)];
}
