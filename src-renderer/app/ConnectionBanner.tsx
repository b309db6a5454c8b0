// The node stopped answering (closed, crashed, restarting): say so over every page, and that what
// the page shows is from before; the actions are greyed meanwhile and everything is read afresh
// when it answers again (live.ts).
import { useQueryClient } from '@tanstack/react-query';
import { nodeReachable } from '../api/manager.js';
import { queryKeys } from '../api/queries.js';
import { useStore } from '../lib/store.js';

export function ConnectionBanner() {
  const reachable = useStore(nodeReachable);
  const client = useQueryClient();
  if (reachable) return null;
  return (
    <div className="connection-banner" role="alert" data-testid="offline-banner">
      <span className="status-dot status-bad" aria-hidden="true" />
      <div>
        <strong>LLM Manager is not running — retrying.</strong>
        <span> What this page shows is from before it stopped; start it again and the page catches up.</span>
      </div>
      <button type="button" className="button button-quiet" onClick={() => void client.refetchQueries({ queryKey: queryKeys.health })}>
        Try now
      </button>
    </div>
  );
}
