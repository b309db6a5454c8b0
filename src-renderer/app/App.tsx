import { lazy, Suspense, useEffect } from 'react';
import { useLiveEvents } from '../api/live.js';
import { useRoute, type PageId } from '../lib/router.js';
import { ChatPage } from '../pages/chat/ChatPage.js';
import { LogsPage } from '../pages/logs/LogsPage.js';
import { ModelsPage } from '../pages/models/ModelsPage.js';
import { nodeReachable } from '../api/manager.js';
import { useStore } from '../lib/store.js';
import { ConnectionBanner } from './ConnectionBanner.js';
import { KeyGate } from './KeyGate.js';
import { PageBoundary } from './PageBoundary.js';
import { Sidebar } from './Sidebar.js';
import { StatusStrip } from './StatusStrip.js';
import { Toasts } from './Toasts.js';

// The editor (CodeMirror, the config parser) and the charts are the bulk of the code: loaded when
// first needed, and fetched in the background soon after start so the first visit is instant too.
const loadConfigPage = () => import('../pages/config/ConfigPage.js');
const loadDevicesPage = () => import('../pages/devices/DevicesPage.js');
const loadUsagePage = () => import('../pages/usage/UsagePage.js');
const loadDeployPage = () => import('../pages/deploy/DeployPage.js');
const ConfigPage = lazy(() => loadConfigPage().then((m) => ({ default: m.ConfigPage })));
const DevicesPage = lazy(() => loadDevicesPage().then((m) => ({ default: m.DevicesPage })));
const UsagePage = lazy(() => loadUsagePage().then((m) => ({ default: m.UsagePage })));
const DeployPage = lazy(() => loadDeployPage().then((m) => ({ default: m.DeployPage })));

const TITLES: Record<PageId, string> = { models: 'Models', deploy: 'Add model', usage: 'Usage', devices: 'Devices', logs: 'Logs', config: 'Config', chat: 'Chat' };

export function App() {
  useLiveEvents();
  const route = useRoute();
  const reachable = useStore(nodeReachable);
  useEffect(() => {
    const timer = setTimeout(() => void Promise.all([loadConfigPage(), loadDevicesPage()]).catch(() => undefined), 1500);
    return () => clearTimeout(timer);
  }, []);
  useEffect(() => {
    document.title = `${TITLES[route.page]} · LLM Manager`;
  }, [route.page]);
  return (
    <div className="app">
      <Sidebar current={route.page} />
      <div className={reachable ? 'main' : 'main is-offline'}>
        <StatusStrip />
        <ConnectionBanner />
        <main className="page" id="page" aria-label={TITLES[route.page]} data-page={route.page}>
          <PageBoundary page={route.page}>
            <Suspense fallback={<div className="page-body" aria-busy="true" />}>
              {route.page === 'models' && <ModelsPage />}
              {route.page === 'deploy' && <DeployPage />}
              {route.page === 'usage' && <UsagePage />}
              {route.page === 'devices' && <DevicesPage />}
              {route.page === 'logs' && <LogsPage model={route.param} />}
              {route.page === 'config' && <ConfigPage />}
              {route.page === 'chat' && <ChatPage />}
            </Suspense>
          </PageBoundary>
        </main>
      </div>
      <Toasts />
      <KeyGate />
    </div>
  );
}
