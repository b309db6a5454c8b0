// Usage: who used what, how fast, and what it cost. One range picker for the page, totals as four
// large numbers, charts under them, tables last (UI.md). Costs are computed from the stored
// requests at the prices in config.yaml, so a price change re-prices history (the page says so).
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { UsageReport, UsageRequest } from '../../../src-shared/usage.js';
import { isFailedStatus } from '../../../src-shared/usage.js';
import { useConfirm } from '../../app/ConfirmDialog.js';
import { EmptyState, ErrorNotice, PageHeader, Skeleton } from '../../app/common.js';
import { manager } from '../../api/manager.js';
import { colorSlot } from '../../lib/color-slot.js';
import { formatMs } from '../../lib/format.js';
import { hrefFor } from '../../lib/router.js';
import { errorText, showToast } from '../../lib/toasts.js';
import '../../styles/usage.css';
import { RequestDetails } from './RequestDetails.js';
import { bucketLabel, formatCost, formatCount, formatHours, formatSpeed, RANGES, spanOf, viewerTimeZone, type RangeId } from './range.js';
import { UsageChart } from './UsageChart.js';

const REFRESH_MS = 10_000;
const PAGE = 25;

export function UsagePage() {
  const [range, setRange] = useState<RangeId>('today');
  const [model, setModel] = useState('');
  const [client, setClient] = useState('');
  const [selected, setSelected] = useState<UsageRequest | null>(null);
  const [confirmElement, confirm] = useConfirm();
  const queryClient = useQueryClient();
  const tz = viewerTimeZone();
  // The range is fixed when picked (a preset's "now" moves on only when it is picked again or the page refreshes).
  const [pickedAt, setPickedAt] = useState(() => Date.now());
  const span = useMemo(() => spanOf(range, pickedAt), [range, pickedAt]);
  const query = { from: span.from, to: span.to, group: span.group, tz, ...(model ? { model } : {}), ...(client ? { client } : {}) };

  const report = useQuery({ queryKey: ['usage', query], queryFn: () => manager.getUsage(query), refetchInterval: REFRESH_MS, placeholderData: keepPreviousData });
  const requests = useInfiniteQuery({
    queryKey: ['usage-requests', query],
    queryFn: ({ pageParam }) => manager.listUsageRequests({ from: span.from, to: span.to, ...(model ? { model } : {}), ...(client ? { client } : {}), limit: PAGE, ...(pageParam !== null ? { before: pageParam } : {}) }),
    initialPageParam: null as number | null,
    getNextPageParam: (page) => page.next,
    refetchInterval: REFRESH_MS,
    placeholderData: keepPreviousData,
  });

  const data = report.data;
  const pick = (id: RangeId) => {
    setRange(id);
    setPickedAt(Date.now());
  };

  const exportCsv = async () => {
    try {
      const text = await manager.exportUsageCsv(query);
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `llm-manager-usage-${new Date(span.from).toISOString().slice(0, 10)}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      showToast(`Couldn't export: ${errorText(err)}`, 'error');
    }
  };

  const deleteHistory = async () => {
    const label = RANGES.find((r) => r.id === range)!.label.toLowerCase();
    const ok = await confirm({
      title: 'Delete usage history?',
      body: (
        <>
          <p>
            Every recorded request of <strong>{label}</strong> ({new Date(span.from).toLocaleString()} – {new Date(span.to).toLocaleString()}) is deleted, for all models and clients, and the engine
            running time of that span. Costs of those requests can't be shown again.
          </p>
          <p>Requests outside this range are kept.</p>
        </>
      ),
      confirmLabel: 'Delete history',
      danger: true,
    });
    if (!ok) return;
    try {
      const result = await manager.deleteUsage({ from: span.from, to: span.to });
      showToast(`Deleted ${result.requests} recorded request${result.requests === 1 ? '' : 's'}`, 'success');
      await queryClient.invalidateQueries({ queryKey: ['usage'] });
      await queryClient.invalidateQueries({ queryKey: ['usage-requests'] });
    } catch (err) {
      showToast(`Couldn't delete: ${errorText(err)}`, 'error');
    }
  };

  const latest = requests.data?.pages.flatMap((p) => p.requests) ?? [];
  const recording = data?.status.state === 'on';

  return (
    <div className="page-body usage-page">
      <PageHeader title="Usage">
        <label className="field-inline">
          <span className="hint">Range</span>
          <select value={range} onChange={(e) => pick(e.target.value as RangeId)} aria-label="Range">
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <select value={model} onChange={(e) => setModel(e.target.value)} aria-label="Model">
          <option value="">All models</option>
          {[...new Set([...(data?.modelNames ?? []), ...(model ? [model] : [])])].map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <select value={client} onChange={(e) => setClient(e.target.value)} aria-label="Client">
          <option value="">All clients</option>
          {[...new Set([...(data?.clientNames ?? []), ...(client ? [client] : [])])].map((c) => (
            <option key={c} value={c}>
              {c || '(unknown client)'}
            </option>
          ))}
        </select>
        <button type="button" className="button" onClick={() => void exportCsv()} disabled={!data || data.totals.requests === 0}>
          Export CSV
        </button>
        <button type="button" className="button button-danger-quiet" onClick={() => void deleteHistory()} disabled={!recording}>
          Delete history…
        </button>
      </PageHeader>
      {confirmElement}
      {selected && <RequestDetails request={selected} onClose={() => setSelected(null)} />}

      {report.isError && !data ? (
        <ErrorNotice title="Couldn't read usage" message={`${errorText(report.error)} It shows again once LLM Manager answers.`} retry={() => void report.refetch()} />
      ) : !data ? (
        <TotalsSkeleton />
      ) : (
        <>
          <StatusNotice report={data} />
          <Totals report={data} />
          {data.totals.requests === 0 ? (
            <EmptyState title={data.status.state === 'on' ? 'No requests in this range yet' : 'Nothing recorded'}>
              <p>
                Every request to the OpenAI-compatible endpoint (<code className="mono">/v1</code>) appears here with its model, client, tokens, speed and — once models have prices —
                its cost. Send one from Chat or from any app to see it.
              </p>
              {(model || client) && <p>Filters are on: try All models and All clients.</p>}
            </EmptyState>
          ) : (
            <Charts report={data} to={span.to} />
          )}
          {data.totals.requests > 0 && <ModelTable report={data} />}
          {data.totals.requests > 0 && <ClientTable report={data} />}
          {data.priced && data.months.length > 0 && <MonthTable report={data} />}
          <section className="usage-section" aria-label="Latest requests">
            <h2>Latest requests</h2>
            {latest.length === 0 ? (
              <p className="hint">The requests of this range show here, newest first; a click opens one.</p>
            ) : (
              <RequestsTable rows={latest} onOpen={setSelected} />
            )}
            {requests.hasNextPage && (
              <button type="button" className="button" onClick={() => void requests.fetchNextPage()} disabled={requests.isFetchingNextPage}>
                Show older requests
              </button>
            )}
          </section>
          <p className="hint usage-note">
            Costs are worked out from the recorded requests and engine running time at the prices in <a href={hrefFor('config')}>Config</a> (<code className="mono">pricing</code> under a model) each time
            this page is shown: changing a price re-prices all history. Token tiers apply to a model&apos;s tokens of each calendar month; hourly prices to the time its engine runs.
          </p>
        </>
      )}
    </div>
  );
}

function StatusNotice({ report }: { report: UsageReport }) {
  const s = report.status;
  if (s.state === 'off') {
    return (
      <div className="notice notice-warn" role="note">
        <div>
          <strong>Usage recording is off.</strong>
          <p>
            <code className="mono">program.usage: off</code> is set in <a href={hrefFor('config')}>Config</a>: requests are served but not recorded. Remove it (or set keep_days / max_mb) to keep a history.
          </p>
        </div>
      </div>
    );
  }
  if (s.state === 'unavailable' || s.state === 'error') {
    return (
      <div className="notice notice-error" role="alert">
        <div>
          <strong>Usage isn&apos;t being recorded.</strong>
          <p>{s.message}</p>
        </div>
      </div>
    );
  }
  if (s.movedAside) {
    return (
      <div className="notice notice-warn" role="note">
        <div>
          <strong>The usage database was replaced.</strong>
          <p>{s.message}</p>
        </div>
      </div>
    );
  }
  return null;
}

function Totals({ report }: { report: UsageReport }) {
  const t = report.totals;
  return (
    <div className="usage-totals" role="group" aria-label="Totals">
      <Big label="Requests" value={formatCount(t.requests)} sub={t.failed > 0 ? <span className="failed-text">{formatCount(t.failed)} failed</span> : 'none failed'} />
      <Big label="Tokens in" value={formatCount(t.promptTokens)} sub={t.cachedTokens > 0 ? `${formatCount(t.cachedTokens)} from cache` : 'prompt tokens'} />
      <Big label="Tokens out" value={formatCount(t.completionTokens)} sub={t.tokensPerSecond !== null ? `${formatSpeed(t.tokensPerSecond)} on average` : 'completion tokens'} />
      <Big label="Cost" value={report.priced ? formatCost(t.cost, report.currency) : '—'} sub={report.priced ? (t.cost === 0 ? 'nothing priced was used' : `at today's prices`) : <a href={hrefFor('config')}>No prices set</a>} />
    </div>
  );
}

function Big({ label, value, sub }: { label: string; value: string; sub: React.ReactNode }) {
  return (
    <div className="usage-total">
      <div className="usage-total-label">{label}</div>
      <div className="usage-total-value num" data-total={label}>
        {value}
      </div>
      <div className="usage-total-sub">{sub}</div>
    </div>
  );
}

function TotalsSkeleton() {
  return (
    <div className="usage-totals" aria-busy="true">
      {[0, 1, 2, 3].map((i) => (
        <div key={i} className="usage-total">
          <Skeleton width="40%" />
          <Skeleton width="60%" height="1.8em" />
          <Skeleton width="50%" />
        </div>
      ))}
    </div>
  );
}

const per: Record<UsageReport['group'], string> = { hour: 'hour', day: 'day', month: 'month' };

function Charts({ report, to }: { report: UsageReport; to: number }) {
  const s = report.series;
  const speed = s.tokensPerSecond.map((m) => ({ label: m.model, values: m.values, color: `--slot-${colorSlot(m.model)}`, kind: 'line' as const }));
  return (
    <div className="usage-charts">
      <section className="usage-section chart-card" aria-label="Tokens and requests">
        <h2>Tokens and requests per {per[report.group]}</h2>
        <UsageChart
          at={s.at}
          to={to}
          group={report.group}
          label={`Tokens in and out, and requests, per ${per[report.group]}`}
          series={[
            { label: 'Tokens in', values: s.promptTokens, color: '--slot-0', kind: 'bars' },
            { label: 'Tokens out', values: s.completionTokens, color: '--slot-1', kind: 'bars' },
            { label: 'Requests', values: s.requests, color: '--chart-util', kind: 'line', right: true },
          ]}
          left={formatCount}
          right={(v) => (Number.isInteger(v) ? String(v) : '')}
        />
      </section>
      <section className="usage-section chart-card" aria-label="Generation speed">
        <h2>Generation speed per model</h2>
        {speed.length === 0 ? (
          <p className="hint chart-empty">No model reported a generation speed in this range: it shows once answers carry token counts (the engine&apos;s own timings when it sends them).</p>
        ) : (
          <UsageChart at={s.at} to={to} group={report.group} label="Tokens per second of each model" series={speed} left={(v) => `${Math.round(v)}`} />
        )}
      </section>
      {report.priced && (
        <section className="usage-section chart-card" aria-label="Cost">
          <h2>Cost per {per[report.group]}</h2>
          <UsageChart at={s.at} to={to} group={report.group} label={`Cost per ${per[report.group]}`} series={[{ label: `Cost (${report.currency})`, values: s.cost, color: '--slot-2', kind: 'bars' }]} left={(v) => formatCost(v, report.currency)} />
        </section>
      )}
    </div>
  );
}

function ModelTable({ report }: { report: UsageReport }) {
  return (
    <section className="usage-section" aria-label="Per model">
      <h2>Per model</h2>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Model</th>
              <th className="num">Requests</th>
              <th className="num">Failed</th>
              <th className="num">Tokens in</th>
              <th className="num">Tokens out</th>
              <th className="num">Speed</th>
              <th className="num">First token</th>
              <th className="num">Duration</th>
              <th className="num">Engine time</th>
              {report.priced && <th className="num">Cost</th>}
            </tr>
          </thead>
          <tbody>
            {report.models.map((m) => (
              <tr key={m.model} data-model={m.model}>
                <td>
                  {m.model ? (
                    <>
                      <span className="model-swatch" style={{ background: `var(--slot-${colorSlot(m.model)})` }} aria-hidden="true" /> {m.model}
                    </>
                  ) : (
                    <span className="muted" title="Requests that named no configured model (answered 404 or 400)">no such model</span>
                  )}
                </td>
                <td className="num">{formatCount(m.requests)}</td>
                <td className={`num${m.failed > 0 ? ' failed-text' : ''}`}>{m.failed > 0 ? formatCount(m.failed) : '—'}</td>
                <td className="num">{formatCount(m.promptTokens)}</td>
                <td className="num">{formatCount(m.completionTokens)}</td>
                <td className="num">{formatSpeed(m.tokensPerSecond)}</td>
                <td className="num">{formatMs(m.avgTtftMs)}</td>
                <td className="num">{formatMs(m.avgTotalMs)}</td>
                <td className="num">{formatHours(m.engineMs)}</td>
                {report.priced && (
                  <td className="num" title={m.hourlyCost > 0 ? `tokens ${formatCost(m.tokenCost, report.currency)} + engine time ${formatCost(m.hourlyCost, report.currency)}` : undefined}>
                    {formatCost(m.cost, report.currency)}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ClientTable({ report }: { report: UsageReport }) {
  return (
    <section className="usage-section" aria-label="Per client">
      <h2>Per client</h2>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th title="The API key's name, else the app's User-Agent">Client</th>
              <th className="num">Requests</th>
              <th className="num">Failed</th>
              <th className="num">Tokens in</th>
              <th className="num">Tokens out</th>
              <th className="num">Duration</th>
              {report.priced && <th className="num">Token cost</th>}
            </tr>
          </thead>
          <tbody>
            {report.clients.map((c) => (
              <tr key={c.client} data-client={c.client}>
                <td>{c.client || <span className="muted">unknown</span>}</td>
                <td className="num">{formatCount(c.requests)}</td>
                <td className={`num${c.failed > 0 ? ' failed-text' : ''}`}>{c.failed > 0 ? formatCount(c.failed) : '—'}</td>
                <td className="num">{formatCount(c.promptTokens)}</td>
                <td className="num">{formatCount(c.completionTokens)}</td>
                <td className="num">{formatMs(c.avgTotalMs)}</td>
                {report.priced && <td className="num">{formatCost(c.cost, report.currency)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function MonthTable({ report }: { report: UsageReport }) {
  return (
    <section className="usage-section" aria-label="Cost per month">
      <h2>Cost per month</h2>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Month</th>
              <th className="num">Requests</th>
              <th className="num">Tokens</th>
              <th className="num">Engine time</th>
              <th className="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {report.months.map((m) => (
              <tr key={m.month}>
                <td>{bucketLabel(m.start, 'month')}</td>
                <td className="num">{formatCount(m.requests)}</td>
                <td className="num">{formatCost(m.tokenCost, report.currency)}</td>
                <td className="num">{formatCost(m.hourlyCost, report.currency)}</td>
                <td className="num">{formatCost(m.tokenCost + m.hourlyCost, report.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RequestsTable({ rows, onOpen }: { rows: UsageRequest[]; onOpen: (r: UsageRequest) => void }) {
  return (
    <div className="table-wrap">
      <table className="table usage-requests">
        <thead>
          <tr>
            <th>Time</th>
            <th>Model</th>
            <th>Client</th>
            <th>Endpoint</th>
            <th className="num">Status</th>
            <th className="num">In</th>
            <th className="num">Out</th>
            <th className="num">Speed</th>
            <th className="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const failed = isFailedStatus(r.status);
            return (
              <tr
                key={r.id}
                className={failed ? 'request-failed' : undefined}
                data-request={r.id}
                tabIndex={0}
                onClick={() => onOpen(r)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') onOpen(r);
                }}
              >
                <td className="num-left">{new Date(r.startedAt).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })}</td>
                <td>{r.model || <span className="muted">{r.requested}</span>}</td>
                <td>{r.client || <span className="muted">unknown</span>}</td>
                <td className="mono small">{r.endpoint.replace(/^\/v1\//, '')}</td>
                <td className="num">
                  {failed ? (
                    <span className="badge badge-failed" title={r.errorCode ?? undefined}>
                      <span className="badge-dot" aria-hidden="true" />
                      {r.status === 0 ? 'gone' : r.status}
                    </span>
                  ) : (
                    r.status
                  )}
                </td>
                <td className="num">{formatCount(r.promptTokens)}</td>
                <td className="num">{formatCount(r.completionTokens)}</td>
                <td className="num">{formatSpeed(r.tokensPerSecond)}</td>
                <td className="num">{formatMs(r.totalMs)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
