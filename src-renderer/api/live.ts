// Live events → the react-query cache: model events patch the list, log lines append (batched per
// frame so a chatty engine doesn't re-render per line), device readings replace the snapshot,
// config saves refresh the config and the model list. A window out of sight lets go of them.
import { useEffect } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { HealthInfo, LogLine, ManagerEvent, ModelInfo } from '../../src-shared/contract.js';
import { eventsConnected, manager } from './manager.js';
import { appendLines, forgetLiveLines, noteDevicesEvent, patchDownload, patchModel, queryKeys, rememberLiveLine, setDevices } from './queries.js';

const LOG_FLUSH_MS = 50;
/**
 * A window hidden this long (closed to the tray, minimised, covered by a full-screen game) or a
 * background tab lets go of the event stream: the node then stops polling nvidia-smi for it, so
 * the game gets that CPU back. Shown again, it subscribes anew and refetches what it missed.
 */
export const HIDDEN_UNSUBSCRIBE_MS = 3_000;

export function useLiveEvents(): void {
  const client = useQueryClient();
  useEffect(() => {
    const pending = new Map<string, LogLine[]>();
    let flushTimer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      flushTimer = null;
      for (const [model, lines] of pending) {
        client.setQueryData<LogLine[]>(queryKeys.logs(model), (old) => (old ? appendLines(old, lines) : old));
      }
      pending.clear();
    };

    const onEvent = (event: ManagerEvent) => {
      switch (event.type) {
        case 'model':
          patchModel(client, event.model);
          break;
        case 'log': {
          rememberLiveLine(event.model, event.line);
          let list = pending.get(event.model);
          if (!list) pending.set(event.model, (list = []));
          list.push(event.line);
          flushTimer ??= setTimeout(flush, LOG_FLUSH_MS);
          break;
        }
        case 'devices':
          noteDevicesEvent();
          setDevices(client, event.devices);
          break;
        case 'config':
          onConfigApplied(client, event.result.removed, event.result.added);
          break;
        case 'download':
          patchDownload(client, event.download);
          // A finished download is in the library now.
          if (event.download.state === 'done') void client.invalidateQueries({ queryKey: queryKeys.library });
          break;
        case 'hold':
          client.setQueryData<HealthInfo>(queryKeys.health, (health) => (health ? { ...health, heldSince: event.heldSince } : health));
          break;
      }
    };
    // After the stream was down (or let go while hidden), events were missed: refetch what they
    // would have patched.
    const refetchMissed = () => {
      void client.invalidateQueries({ queryKey: queryKeys.health }); // a hold set meanwhile
      void client.invalidateQueries({ queryKey: queryKeys.models });
      void client.invalidateQueries({ queryKey: queryKeys.devices });
      void client.invalidateQueries({ queryKey: queryKeys.deviceHistory });
      void client.invalidateQueries({ queryKey: queryKeys.config });
      void client.invalidateQueries({ queryKey: ['logs'] });
      void client.invalidateQueries({ queryKey: queryKeys.downloads });
    };
    let unsubscribe: (() => void) | null = manager.subscribe(onEvent);
    let hiddenTimer: ReturnType<typeof setTimeout> | null = null;
    const onVisibility = () => {
      if (document.visibilityState === 'hidden') {
        hiddenTimer ??= setTimeout(() => {
          hiddenTimer = null;
          unsubscribe?.();
          unsubscribe = null;
        }, HIDDEN_UNSUBSCRIBE_MS);
        return;
      }
      if (hiddenTimer) clearTimeout(hiddenTimer);
      hiddenTimer = null;
      if (unsubscribe) return;
      unsubscribe = manager.subscribe(onEvent);
      refetchMissed();
    };
    document.addEventListener('visibilitychange', onVisibility);
    onVisibility();

    let wasConnected = eventsConnected.get();
    const unwatch = eventsConnected.subscribe(() => {
      const connected = eventsConnected.get();
      if (connected && !wasConnected) refetchMissed();
      wasConnected = connected;
    });

    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      if (hiddenTimer) clearTimeout(hiddenTimer);
      unsubscribe?.();
      unwatch();
      if (flushTimer) clearTimeout(flushTimer);
    };
  }, [client]);
}

function onConfigApplied(client: QueryClient, removed: string[], added: string[]): void {
  if (removed.length > 0) {
    client.setQueryData<ModelInfo[]>(queryKeys.models, (list) => list?.filter((m) => !removed.includes(m.name)));
  }
  // A model removed and added again starts its log (and its seq) from scratch.
  for (const name of [...removed, ...added]) {
    forgetLiveLines(name);
    client.removeQueries({ queryKey: queryKeys.logs(name) });
  }
  void client.invalidateQueries({ queryKey: queryKeys.models });
  void client.invalidateQueries({ queryKey: queryKeys.config });
  void client.invalidateQueries({ queryKey: queryKeys.health });
  void client.invalidateQueries({ queryKey: queryKeys.library }); // which models use each file
}
