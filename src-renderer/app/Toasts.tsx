// The toasts' corner (bottom right), and the hook that keeps it clear of the chat composer.
import { useEffect, type RefObject } from 'react';
import { useStore } from '../lib/store.js';
import { dismissToast, toasts } from '../lib/toasts.js';

export function Toasts() {
  const list = useStore(toasts);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {list.map((toast) => (
        <div key={toast.id} className={`toast toast-${toast.kind}`} data-testid="toast">
          <span>{toast.text}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismissToast(toast.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/**
 * Keeps the toasts above `ref` (the chat composer: what the user types into sits in the corner
 * where toasts appear) for as long as the calling component is mounted, following its height as it grows.
 */
export function useToastClearance(ref: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const root = document.documentElement;
    const update = () => root.style.setProperty('--toast-clearance', `${Math.ceil(window.innerHeight - el.getBoundingClientRect().top)}px`);
    update();
    const observer = new ResizeObserver(update);
    observer.observe(el);
    window.addEventListener('resize', update);
    return () => {
      observer.disconnect();
      window.removeEventListener('resize', update);
      root.style.removeProperty('--toast-clearance');
    };
  }, [ref]);
}
