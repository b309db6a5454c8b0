import type { ReactNode } from 'react';
import { hrefFor, type PageId } from '../lib/router.js';
import { useStore } from '../lib/store.js';
import { configDraft, hasUnsavedChanges } from '../pages/config/draft.js';
import { AddModelIcon, ChatIcon, ConfigIcon, DevicesIcon, LogoMark, LogsIcon, ModelsIcon, UsageIcon } from './icons.js';

const ITEMS: { page: PageId; label: string; icon: ReactNode }[] = [
  { page: 'models', label: 'Models', icon: <ModelsIcon /> },
  { page: 'deploy', label: 'Add model', icon: <AddModelIcon /> },
  { page: 'usage', label: 'Usage', icon: <UsageIcon /> },
  { page: 'devices', label: 'Devices', icon: <DevicesIcon /> },
  { page: 'logs', label: 'Logs', icon: <LogsIcon /> },
  { page: 'config', label: 'Config', icon: <ConfigIcon /> },
  { page: 'chat', label: 'Chat', icon: <ChatIcon /> },
];

export function Sidebar({ current }: { current: PageId }) {
  const unsaved = hasUnsavedChanges(useStore(configDraft));
  return (
    <nav className="sidebar" aria-label="Pages">
      <div className="brand">
        <LogoMark />
        <span>LLM Manager</span>
      </div>
      <ul>
        {ITEMS.map((item) => (
          <li key={item.page}>
            <a href={hrefFor(item.page)} className="nav-item" title={item.label} aria-current={item.page === current ? 'page' : undefined}>
              {item.icon}
              <span>{item.label}</span>
              {item.page === 'config' && unsaved && (
                <span className="nav-dot" title="Unsaved changes" aria-label="unsaved changes" />
              )}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
