// GET /api/events: the live event stream (model states, logs, device readings) an open browser
// window holds all the time. Served without express so that holding it loads nothing more.
import type http from 'node:http';
import type { ManagerApi } from '../../../src-shared/contract.js';
import { openSse } from './sse.js';

export function serveEvents(req: http.IncomingMessage, res: http.ServerResponse, api: ManagerApi): void {
  let unsubscribe = () => {};
  let closed = false;
  const sse = openSse(req, res, () => {
    closed = true;
    unsubscribe();
  });
  // The snapshot goes through the API so it carries what the supervisor doesn't know (VRAM held).
  void api.listModels().then(
    (models) => {
      if (closed) return;
      for (const model of models) sse.send('model', { type: 'model', model });
      unsubscribe = api.subscribe((event) => sse.send(event.type, event));
    },
    () => sse.end(),
  );
}
