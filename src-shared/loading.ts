// How a starting model's progress reads, for the window and the tray alike: the engine's own
// fraction as the node last said it; an estimate advanced locally (time since the start against the
// last start's time), so a view ticking its clock moves without new events; else only the time.
import type { ModelInfo } from './contract.js';

export interface LoadingView {
  /** 0..1, or null when nothing tells how far it is (show the time only). */
  fraction: number | null;
  /** "42 %", "~30 %", or "" when unknown. */
  percent: string;
  /** What it is doing, when the engine says: "loading weights". */
  stage: string | null;
  /** One line for a tooltip or a menu: "42 % · loading weights", "~30 % of the last start's 1 m 10 s", "12 s". */
  text: string;
}

export function loadingView(model: Pick<ModelInfo, 'state' | 'startedAt' | 'loading'>, now: number): LoadingView | null {
  if (model.state !== 'starting') return null;
  const p = model.loading;
  const elapsedMs = model.startedAt ? Math.max(0, now - Date.parse(model.startedAt)) : (p?.elapsedMs ?? 0);
  if (p?.source === 'engine' && p.fraction !== null) {
    const percent = `${Math.floor(p.fraction * 100)} %`;
    return { fraction: p.fraction, percent, stage: p.stage, text: p.stage ? `${percent} · ${p.stage}` : percent };
  }
  if (p?.expectedMs) {
    const fraction = Math.min(0.99, elapsedMs / p.expectedMs);
    const percent = `~${Math.floor(fraction * 100)} %`;
    return { fraction, percent, stage: null, text: `${percent} of the last start's ${seconds(p.expectedMs)}` };
  }
  return { fraction: null, percent: '', stage: null, text: seconds(elapsedMs) };
}

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} m ${s % 60} s`;
}
