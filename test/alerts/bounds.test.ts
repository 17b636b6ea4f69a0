/**
 * One alert can list tens of thousands of categories, techniques or devices (a hostile or broken
 * sender within the body limit). Reading it stays linear, and what reaches the policy, the response
 * and the logs is cut to a cap, with the cut reported in `truncated`.
 */
import { DeviceCollector } from '../../shared/alerts/devices';
import { stringList } from '../../shared/alerts/fields';
import { MAX_DEVICES_PER_ALERT, MAX_LABELS_PER_ALERT, MAX_TITLE_LENGTH } from '../../shared/alerts/model';
import { parseAlertPayload } from '../../shared/alerts/parse';
import { graphAlert } from '../support/alert-payloads';
import { growthRatio, LINEAR_GROWTH_LIMIT } from '../support/scaling';
import { onlyAlertOf } from './helpers';

const hex40 = (i: number) => i.toString(16).padStart(40, '0');

const deviceEvidence = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    '@odata.type': '#microsoft.graph.security.deviceEvidence',
    mdeDeviceId: hex40(i + 1),
    deviceDnsName: `ws-${i}.corp.example`,
  }));

describe('categories and MITRE techniques', () => {
  it('are de-duplicated in linear time (a 64,000-item list once took 9.7 s)', () => {
    // Small sizes on purpose: the work stays in cache, so the ratio shows the algorithm, not the memory.
    const ratio = growthRatio(
      1_000,
      (size) => Array.from({ length: size }, (_, i) => `technique-${i}`),
      (items) => stringList(items),
    );
    expect(ratio).toBeLessThan(LINEAR_GROWTH_LIMIT);
  });

  it('are cut to the cap per alert, the cut reported with how many were named', () => {
    const techniques = Array.from(
      { length: 64_000 },
      (_, i) => `T${String(1000 + (i % 9000)).padStart(4, '0')}.${String(i % 1000).padStart(3, '0')}`,
    );
    const alert = onlyAlertOf(graphAlert({ mitreTechniques: techniques, category: 'Ransomware' }));
    expect(alert.mitreTechniques).toHaveLength(MAX_LABELS_PER_ALERT);
    expect(alert.mitreTechniques.slice(0, 2)).toEqual([techniques[0], techniques[1]]);
    expect(alert.categories).toEqual(['Ransomware']);
    expect(alert.truncated).toEqual({ mitreTechniques: new Set(techniques).size });
  });

  it('cuts categories from a comma-separated Tactics column too', () => {
    const tactics = Array.from({ length: 500 }, (_, i) => `Tactic${i}`).join(',');
    const alert = onlyAlertOf({ SystemAlertId: 'a1', AlertSeverity: 'High', Tactics: tactics });
    expect(alert.categories).toHaveLength(MAX_LABELS_PER_ALERT);
    expect(alert.truncated).toEqual({ categories: 500 });
  });

  it('leaves an ordinary alert without a truncated field', () => {
    expect(onlyAlertOf(graphAlert({ mitreTechniques: ['T1486'] }))).not.toHaveProperty('truncated');
  });
});

describe('the title', () => {
  it('is cut to its cap, the cut reported with the length the alert gave', () => {
    const alert = onlyAlertOf(graphAlert({ title: `Ransomware ${'x'.repeat(100_000)}` }));
    expect(alert.title).toHaveLength(MAX_TITLE_LENGTH);
    expect(alert.title.startsWith('Ransomware x')).toBe(true);
    expect(alert.truncated).toEqual({ title: 100_011 });
  });
});

describe('devices', () => {
  it('are merged in linear time (80,000 devices in one alert once took 14.7 s)', () => {
    const ratio = growthRatio(
      2_500,
      (size) => graphAlert({ evidence: deviceEvidence(size) }),
      (body) => parseAlertPayload(body),
    );
    expect(ratio).toBeLessThan(LINEAR_GROWTH_LIMIT);
  });

  it('sharing one name under distinct MDE ids, are merged in linear time below the cap', () => {
    const ratio = growthRatio(
      MAX_DEVICES_PER_ALERT / 4,
      (size) => Array.from({ length: size }, (_, i) => ({ mdeDeviceId: hex40(i + 1), hostname: 'ws' })),
      (hints) => {
        const devices = new DeviceCollector();
        for (const hint of hints) devices.add(hint);
      },
    );
    expect(ratio).toBeLessThan(LINEAR_GROWTH_LIMIT);
  });

  it('beyond the cap are counted, not kept: the alert says how many it named', () => {
    const alert = onlyAlertOf(graphAlert({ evidence: deviceEvidence(80_000) }));
    expect(alert.devices).toHaveLength(MAX_DEVICES_PER_ALERT);
    expect(alert.devices[0]).toEqual({ mdeDeviceId: hex40(1), fqdn: 'ws-0.corp.example' });
    expect(alert.truncated).toEqual({ devices: 80_000 });
  });

  it('at the cap exactly, are all kept and nothing is reported cut', () => {
    const alert = onlyAlertOf(graphAlert({ evidence: deviceEvidence(MAX_DEVICES_PER_ALERT) }));
    expect(alert.devices).toHaveLength(MAX_DEVICES_PER_ALERT);
    expect(alert).not.toHaveProperty('truncated');
  });

  it('repeated beyond the cap (the same device again) are not counted twice', () => {
    const evidence = [
      ...deviceEvidence(MAX_DEVICES_PER_ALERT + 5),
      ...deviceEvidence(MAX_DEVICES_PER_ALERT + 5),
    ];
    expect(onlyAlertOf(graphAlert({ evidence })).truncated).toEqual({ devices: MAX_DEVICES_PER_ALERT + 5 });
  });

  it('keep a bounded list of addresses each', () => {
    const devices = new DeviceCollector();
    for (let i = 0; i < 1_000; i++)
      devices.add({ mdeDeviceId: hex40(1), ipAddresses: [`10.0.${i >> 8}.${i & 255}`] });
    const [device] = devices.list();
    expect(device.ipAddresses?.length).toBeLessThanOrEqual(16);
  });
});
