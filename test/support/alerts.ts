/** Alerts as the parsers hand them to the policy: tests state only the fields they are about. */
import type { NormalizedAlert } from '../../shared/alerts/model';

/** The MDE device id of the default alert's one device (sample 11's laptop). */
export const DEVICE_ID = '41d31f1735beb60b6bf9b591ce42c615d3a2c9a5';

export function alertOf(overrides: Partial<NormalizedAlert> = {}): NormalizedAlert {
  return {
    source: 'mde-alert',
    alertId: 'da638856212847710932_-1173482659',
    incidentId: '18344',
    incidentArmId: null,
    title: 'Possible ransomware activity',
    severity: 'high',
    firing: true,
    categories: ['Ransomware'],
    mitreTechniques: ['T1486.001'],
    devices: [{ mdeDeviceId: DEVICE_ID, fqdn: 'acct-lt-0093.ad.northwind.example' }],
    ...overrides,
  };
}
