// One row per configured model: its state, what it holds, and one action. Keyboard: ↑/↓ move
// between rows, Enter opens details, S starts or stops.
import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { ModelInfo } from '../../../src-shared/contract.js';
import { EmptyState, ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { toggleRunning } from '../../api/actions.js';
import { nodeReachable } from '../../api/manager.js';
import { useDevices, useModels } from '../../api/queries.js';
import { useNow } from '../../lib/clock.js';
import { createStore, useStore } from '../../lib/store.js';
import { declaredFrom, heldByModel, type Held } from '../../lib/held-memory.js';
import { hrefFor } from '../../lib/router.js';
import { errorText } from '../../lib/toasts.js';
import { ModelRow } from './ModelRow.js';
import { StopAll } from './StopAll.js';

const COLUMNS = 10;

/**
 * Rows whose details are open, kept across page visits. Only the user opens one, or a start they
 * asked for that failed: failures they didn't cause stay one line in their row.
 */
const openRows = createStore<ReadonlySet<string>>(new Set());
const setOpen = (name: string, on: boolean) => openRows.set((s) => withToggled(s, name, on));
const startFailedHere = { onStartFailed: (name: string) => setOpen(name, true) };

export function ModelsPage() {
  const models = useModels();
  const devices = useDevices();
  const now = useNow();
  const [focused, setFocused] = useState(0);
  const opened = useStore(openRows);
  const reachable = useStore(nodeReachable);
  const rows = useRef<(HTMLTableRowElement | null)[]>([]);
  // The latest device reading is fresher than the model list; the list's figure fills in without one.
  const vramByModel = useMemo(() => heldByModel(devices.data, declaredFrom(models.data)), [devices.data, models.data]);

  const list = models.data ?? [];
  const isOpen = (m: ModelInfo) => opened.has(m.name);
  const toggleDetails = (m: ModelInfo) => setOpen(m.name, !isOpen(m));
  const toggle = (m: ModelInfo) => {
    if (reachable) toggleRunning(m, startFailedHere);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTableSectionElement>) => {
    const index = rows.current.findIndex((r) => r === e.target);
    if (index === -1) return; // a key on a button inside the row
    const model = list[index];
    if (!model) return;
    const move = (to: number) => {
      e.preventDefault();
      const next = Math.max(0, Math.min(list.length - 1, to));
      setFocused(next);
      rows.current[next]?.focus();
    };
    if (e.key === 'ArrowDown') move(index + 1);
    else if (e.key === 'ArrowUp') move(index - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(list.length - 1);
    else if (e.key === 'Enter') {
      e.preventDefault();
      toggleDetails(model);
    } else if ((e.key === 's' || e.key === 'S') && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      toggle(model);
    }
  };

  return (
    <div className="page-body">
      <PageHeader title="Models">
        <span className="hint">
          <kbd>↑</kbd> <kbd>↓</kbd> move · <kbd>Enter</kbd> details · <kbd>S</kbd> start/stop
        </span>
        <a className="button" href={hrefFor('deploy')}>
          Add model
        </a>
        <StopAll models={list} disabled={!reachable} />
      </PageHeader>
      {models.isError && !models.data ? (
        <ErrorNotice title="Couldn't load the models" message={`${errorText(models.error)} The list will appear once LLM Manager answers.`} retry={() => void models.refetch()} />
      ) : models.data && list.length === 0 ? (
        <EmptyState title="No models yet">
          <p>
            <a href={hrefFor('deploy')}>Add one</a> from a GGUF file or Hugging Face, or write it in <a href={hrefFor('config')}>Config</a>.
          </p>
        </EmptyState>
      ) : (
        <div className="table-wrap">
          {/* table-layout: fixed (pages.css): nothing moves when a state, a countdown or a label changes. */}
          <table className="table models-table">
            <thead>
              <tr>
                <th className="col-state">State</th>
                <th>Model</th>
                <th className="col-mode">Mode</th>
                <th className="num col-port">Port</th>
                <th className="col-profile">Profile</th>
                <th className="num col-vram">VRAM</th>
                <th className="num col-inflight">In flight</th>
                <th className="num col-today" title="Generation speed and requests since midnight (see Usage)">Today</th>
                <th className="col-idle">Idle stop</th>
                <th className="col-action">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            {!models.data ? (
              <tbody>
                {[0, 1, 2].map((i) => (
                  <tr key={i} className="skeleton-row">
                    {Array.from({ length: COLUMNS }, (_, c) => (
                      <td key={c}>
                        <Skeleton width={c === 1 ? '60%' : '70%'} />
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            ) : (
              <tbody onKeyDown={onKeyDown}>
                {list.map((model, i) => (
                  <ModelRow
                    key={model.name}
                    model={model}
                    vram={vramByModel.get(model.name) ?? measured(model.vramMb)}
                    now={now}
                    open={isOpen(model)}
                    tabIndex={i === Math.min(focused, list.length - 1) ? 0 : -1}
                    rowRef={(el) => {
                      rows.current[i] = el;
                    }}
                    onFocus={() => setFocused(i)}
                    onToggleDetails={() => toggleDetails(model)}
                    onToggleRunning={() => toggle(model)}
                    offline={!reachable}
                    columns={COLUMNS}
                  />
                ))}
              </tbody>
            )}
          </table>
        </div>
      )}
    </div>
  );
}

function withToggled(set: ReadonlySet<string>, name: string, on: boolean): ReadonlySet<string> {
  if (set.has(name) === on) return set;
  const next = new Set(set);
  if (on) next.add(name);
  else next.delete(name);
  return next;
}

function measured(mb: number | null): Held | null {
  return mb === null ? null : { basis: 'measured', mb };
}
