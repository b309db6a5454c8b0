// The Models page's "Today" column: each model's generation speed and requests since midnight,
// from one usage query shared by every row.
import { useQuery } from '@tanstack/react-query';
import { manager } from '../../api/manager.js';
import '../../styles/usage-today.css';
import { formatSpeed, viewerTimeZone } from './range.js';

function today(now: number): { from: number; to: number } {
  const d = new Date(now);
  return { from: new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime(), to: new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime() };
}

export function useUsageToday() {
  const { from, to } = today(Date.now());
  return useQuery({
    queryKey: ['usage-today', from],
    queryFn: () => manager.getUsage({ from, to, group: 'day', tz: viewerTimeZone() }),
    refetchInterval: 30_000,
    // An older node without usage, or usage off: the column stays empty.
    retry: false,
  });
}

export function UsageToday({ model }: { model: string }) {
  const row = useUsageToday().data?.models.find((m) => m.model === model);
  if (!row || row.requests === 0) return <span className="muted">—</span>;
  const speed = row.tokensPerSecond === null ? null : formatSpeed(row.tokensPerSecond);
  return (
    <span className="usage-today" title={`Since midnight: ${row.requests} request${row.requests === 1 ? '' : 's'}${speed ? `, generating at ${speed} on average` : ''} (see Usage)`}>
      {speed && <span className="usage-today-speed">{speed}</span>}
      {/* The column says "Today": the count needs no more words (the title has them). */}
      <span className="usage-today-requests">{row.requests} req</span>
    </span>
  );
}
