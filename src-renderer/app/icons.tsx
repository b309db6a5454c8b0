// Hand-drawn 20px line icons (stroke = currentColor).
import type { ReactNode, SVGProps } from 'react';

function Icon({ children, ...props }: SVGProps<SVGSVGElement> & { children: ReactNode }) {
  return (
    <svg width="18" height="18" viewBox="0 0 20 20" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false" {...props}>
      {children}
    </svg>
  );
}

export const ModelsIcon = () => (
  <Icon>
    <path d="M10 2.5 17 6.2 10 10 3 6.2Z" />
    <path d="M3 10l7 3.8 7-3.8" />
    <path d="M3 13.8l7 3.7 7-3.7" />
  </Icon>
);

export const AddModelIcon = () => (
  <Icon>
    <path d="M10 2.5 17 6.2 10 10 3 6.2Z" />
    <path d="M3 10l4.5 2.4" />
    <path d="M15 12v5M12.5 14.5h5" />
  </Icon>
);

export const DevicesIcon = () => (
  <Icon>
    <rect x="5" y="5" width="10" height="10" rx="1.5" />
    <rect x="8" y="8" width="4" height="4" rx="0.5" />
    <path d="M8 2.5v2.5M12 2.5v2.5M8 15v2.5M12 15v2.5M2.5 8h2.5M2.5 12h2.5M15 8h2.5M15 12h2.5" />
  </Icon>
);

export const LogsIcon = () => (
  <Icon>
    <rect x="3" y="3" width="14" height="14" rx="2" />
    <path d="M6 7h8M6 10h8M6 13h5" />
  </Icon>
);

export const ConfigIcon = () => (
  <Icon>
    <path d="M4 5h7M15 5h1M4 10h2M10 10h6M4 15h8M16 15h0" />
    <circle cx="13" cy="5" r="1.8" />
    <circle cx="8" cy="10" r="1.8" />
    <circle cx="14" cy="15" r="1.8" />
  </Icon>
);

export const ChatIcon = () => (
  <Icon>
    <path d="M4 4.5h12a1.5 1.5 0 0 1 1.5 1.5v7a1.5 1.5 0 0 1-1.5 1.5H9l-3.5 3v-3H4A1.5 1.5 0 0 1 2.5 13V6A1.5 1.5 0 0 1 4 4.5Z" />
  </Icon>
);

export const CopyIcon = () => (
  <Icon width="15" height="15">
    <rect x="7" y="7" width="10" height="10" rx="1.5" />
    <path d="M13 7V4.5A1.5 1.5 0 0 0 11.5 3h-7A1.5 1.5 0 0 0 3 4.5v7A1.5 1.5 0 0 0 4.5 13H7" />
  </Icon>
);

export const CheckIcon = () => (
  <Icon width="15" height="15">
    <path d="M4 10.5l4 4 8-9" />
  </Icon>
);

export const ChevronIcon = ({ open }: { open: boolean }) => (
  <Icon width="14" height="14" style={{ transform: open ? 'rotate(90deg)' : 'none', transition: 'transform 120ms' }}>
    <path d="M7.5 4.5 13 10l-5.5 5.5" />
  </Icon>
);

export const ArrowDownIcon = () => (
  <Icon width="15" height="15">
    <path d="M10 3.5v13M4.5 11l5.5 5.5 5.5-5.5" />
  </Icon>
);

export const SearchIcon = () => (
  <Icon width="15" height="15">
    <circle cx="8.5" cy="8.5" r="5" />
    <path d="M12.5 12.5 17 17" />
  </Icon>
);

export const LogoMark = () => (
  <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    <rect x="1" y="1" width="22" height="22" rx="6" fill="var(--accent)" />
    <path d="M7 7v10h4M13 17V7l2.5 5L18 7v10" fill="none" stroke="var(--accent-contrast)" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
  </svg>
);

export const UsageIcon = () => (
  <Icon>
    <path d="M3 17h14" />
    <path d="M5.5 14V9.5M10 14V4.5M14.5 14v-6" />
  </Icon>
);
