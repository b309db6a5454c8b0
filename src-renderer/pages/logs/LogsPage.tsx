// One model's engine output: history first, then live lines; search, follow, copy.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { LogLine } from '../../../src-shared/contract.js';
import { EmptyState, ErrorNotice, PageHeader, Skeleton, StateBadge } from '../../app/common.js';
import { SearchIcon } from '../../app/icons.js';
import { toggleRunning } from '../../api/actions.js';
import { manager, nodeReachable, transport } from '../../api/manager.js';
import { useModelLogs, useModels } from '../../api/queries.js';
import { copyText } from '../../lib/clipboard.js';
import { useNow } from '../../lib/clock.js';
import { useStore } from '../../lib/store.js';
import { hrefFor, navigate } from '../../lib/router.js';
import { errorText, showToast } from '../../lib/toasts.js';
import { plainLine } from './ansi.js';
import { findMatches } from './LogText.js';
import { foldRepeats } from './fold.js';
import { LogView, ROW_HEIGHT } from './LogView.js';

const plain = plainLine;

/** The model last shown, so coming back to Logs shows it again. */
let lastModel: string | null = null;

export function LogsPage({ model: routeModel }: { model: string | null }) {
  const models = useModels();
  const now = useNow();
  const list = models.data ?? [];
  // An alias in the address (#/logs/gpt-3.5-turbo) shows its model; live lines arrive under the model's name.
  const fromRoute = routeModel === null ? null : (list.find((m) => m.name === routeModel || m.aliases.includes(routeModel))?.name ?? routeModel);
  const selected = fromRoute ?? (lastModel && list.some((m) => m.name === lastModel) ? lastModel : (list[0]?.name ?? null));
  useEffect(() => {
    if (selected) lastModel = selected;
  }, [selected]);
  const info = list.find((m) => m.name === selected) ?? null;

  return (
    <div className="page-body page-fill">
      <PageHeader title="Logs">
        {list.length > 0 && (
          <label className="field-inline">
            <span>Model</span>
            <select value={selected ?? ''} onChange={(e) => navigate('logs', e.target.value)} data-testid="log-model">
              {selected && !info && <option value={selected}>{selected}</option>}
              {list.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {info && <StateBadge state={info.state} startedAt={info.startedAt} now={now} />}
      </PageHeader>
      {models.isError && !models.data ? (
        <ErrorNotice title="Couldn't load the models" message={errorText(models.error)} retry={() => void models.refetch()} />
      ) : models.data && list.length === 0 ? (
        <EmptyState title="No models yet">
          <p>
            Add one in <a href={hrefFor('config')}>Config</a>; its engine output shows up here.
          </p>
        </EmptyState>
      ) : selected ? (
        <ModelLog key={selected} model={selected} canStart={info !== null && (info.state === 'stopped' || info.state === 'failed')} onStart={() => info && toggleRunning(info)} />
      ) : (
        <LogSkeleton />
      )}
    </div>
  );
}

function ModelLog({ model, canStart, onStart }: { model: string; canStart: boolean; onStart: () => void }) {
  // While the node is away a start can't work (the banner says why): greyed, as on the Models page.
  const reachable = useStore(nodeReachable);
  const logs = useModelLogs(model);
  const lines = logs.data ?? EMPTY;
  // Runs of one line (the engine's log of each health probe) are shown once, with a count.
  const shown = useMemo(() => foldRepeats(lines), [lines]);
  const [follow, setFollow] = useState(true);
  const [pausedAt, setPausedAt] = useState(0);
  const [query, setQuery] = useState('');
  const [matchIndex, setMatchIndex] = useState(0);
  const searchBox = useRef<HTMLInputElement>(null);

  const matches = useMemo(() => {
    if (!query) return [];
    const out: number[] = [];
    shown.forEach((line, i) => {
      if (findMatches(plain(line), query).length > 0) out.push(i);
    });
    return out;
  }, [shown, query]);
  const current = matches.length > 0 ? Math.min(matchIndex, matches.length - 1) : -1;

  const changeFollow = (on: boolean) => {
    setFollow(on);
    if (!on) setPausedAt(shown.length);
  };
  const step = (delta: number) => {
    if (matches.length === 0) return;
    changeFollow(false);
    setMatchIndex((current + delta + matches.length) % matches.length);
  };
  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      step(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      setQuery('');
    }
  };
  const copyAll = () => {
    void copyText(lines.map(plain).join('\n')).then((ok) =>
      showToast(ok ? `Copied ${lines.length} lines of ${model}.` : 'Copying failed: the clipboard is not available here.', ok ? 'success' : 'error'),
    );
  };

  // The desktop app opens the folder; a browser can't, so it shows (and copies) the file's path.
  const openFolder = () => {
    manager.openLogFolder(model).then(
      async (where) => {
        if (where.opened) return;
        const copied = await copyText(where.path);
        showToast(`${model} logs to ${where.path}${copied ? ' (path copied)' : ''}.`, 'info');
      },
      (err: unknown) => showToast(`Couldn't open the log folder: ${errorText(err)}`, 'error'),
    );
  };

  // Ctrl/Cmd+F focuses the search box instead of the browser's own find (which can't see rows out of view).
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
        e.preventDefault();
        searchBox.current?.focus();
        searchBox.current?.select();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <>
      <div className="toolbar">
        <div className="search">
          <SearchIcon />
          <input
            ref={searchBox}
            type="search"
            placeholder="Search this log"
            aria-label="Search this log"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setMatchIndex(0);
            }}
            onKeyDown={onSearchKey}
            data-testid="log-search"
          />
          {/* Always there (hidden when empty) so the box doesn't change width. */}
          <button type="button" className="icon-button" aria-label="Clear search" onClick={() => setQuery('')} style={{ visibility: query ? 'visible' : 'hidden' }}>
            ×
          </button>
          <span className="search-count num" aria-live="polite">
            {query ? (matches.length > 0 ? `${current + 1} / ${matches.length}` : 'no match') : ''}
          </span>
          <button type="button" className="icon-button" aria-label="Previous match" disabled={matches.length === 0} onClick={() => step(-1)}>
            ↑
          </button>
          <button type="button" className="icon-button" aria-label="Next match" disabled={matches.length === 0} onClick={() => step(1)}>
            ↓
          </button>
        </div>
        <div className="toolbar-right">
          <span className="muted small num">{lines.length} lines</span>
          <label className="toggle">
            <input type="checkbox" checked={follow} onChange={(e) => changeFollow(e.target.checked)} />
            Follow
          </label>
          <button type="button" className="button" onClick={copyAll} disabled={lines.length === 0}>
            Copy all
          </button>
          <button type="button" className="button" onClick={openFolder} title="The folder of this model's log file">
            {transport === 'ipc' ? 'Open log folder' : 'Log file path'}
          </button>
        </div>
      </div>
      {logs.isError ? (
        <ErrorNotice title={`Couldn't load the log of ${model}`} message={errorText(logs.error)} retry={() => void logs.refetch()} />
      ) : !logs.data ? (
        <LogSkeleton />
      ) : lines.length === 0 ? (
        <EmptyState title={`${model} has written nothing yet`}>
          <p>Its engine output appears here live as soon as it starts.</p>
          {canStart && (
            <button type="button" className="button button-primary" onClick={onStart} disabled={!reachable} data-testid="log-start">
              Start {model}
            </button>
          )}
        </EmptyState>
      ) : (
        <LogView
          lines={shown}
          search={query}
          activeLine={current === -1 ? null : (matches[current] ?? null)}
          follow={follow}
          onFollowChange={changeFollow}
          newSincePause={follow ? 0 : Math.max(0, shown.length - pausedAt)}
        />
      )}
    </>
  );
}

const EMPTY: LogLine[] = [];

function LogSkeleton() {
  return (
    <div className="log-view-wrap">
      <div className="log-view" aria-hidden="true">
        {Array.from({ length: 8 }, (_, i) => (
          <div key={i} style={{ height: ROW_HEIGHT, display: 'flex', alignItems: 'center', padding: '0 12px' }}>
            <Skeleton width={`${40 + ((i * 37) % 50)}%`} />
          </div>
        ))}
      </div>
    </div>
  );
}
