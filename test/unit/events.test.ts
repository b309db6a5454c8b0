import { describe, expect, it } from 'vitest';
import type { ManagerEvent } from '../../src-shared/contract.js';
import { EventHub } from '../../src-main/core/events.js';

const config: ManagerEvent = { type: 'config', result: { ok: true, issues: [], added: [], removed: [], changed: [], message: '' } };
const devices: ManagerEvent = { type: 'devices', devices: { at: '', monitoringDisabled: false, devices: [] } };

describe('EventHub', () => {
  it('delivers only the types a subscriber asked for, and says who wants what', () => {
    const hub = new EventHub();
    const tray: string[] = [];
    const stopTray = hub.subscribe((e) => tray.push(e.type), ['model', 'config']);
    // A tray-like subscriber alone must not make device polling or log fan-out look wanted.
    expect(hub.wants('devices')).toBe(false);
    expect(hub.wants('log')).toBe(false);
    expect(hub.wants('config')).toBe(true);

    const window: string[] = [];
    const stopWindow = hub.subscribe((e) => window.push(e.type));
    expect(hub.wants('devices')).toBe(true);
    hub.publish(devices);
    hub.publish(config);
    expect(tray).toEqual(['config']);
    expect(window).toEqual(['devices', 'config']);

    stopWindow();
    expect(hub.wants('devices')).toBe(false);
    stopTray();
    expect(hub.size).toBe(0);
  });

  it('keeps delivering to the others when one subscriber throws', () => {
    const hub = new EventHub();
    const seen: string[] = [];
    hub.subscribe(() => {
      throw new Error('broken');
    });
    hub.subscribe((e) => seen.push(e.type));
    hub.publish(config);
    expect(seen).toEqual(['config']);
  });
});
