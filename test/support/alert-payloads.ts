/** Alert payloads as senders post them to the intake, built per test where a sample file would not do. */

let mdeAlertSequence = 0;

/**
 * A Defender for Endpoint API alert (/api/alerts shape) about one device, with a fresh id and incident;
 * `aadTenantId` names the tenant it was raised in.
 */
export function mdeAlert(
  device: { machineId?: string; dnsName?: string },
  fields: { severity?: string; title?: string; incidentId?: number; aadTenantId?: string } = {},
) {
  mdeAlertSequence += 1;
  return {
    id: `da${String(mdeAlertSequence).padStart(12, '0')}_1`,
    incidentId: 1000 + mdeAlertSequence,
    severity: 'High',
    status: 'New',
    category: 'Ransomware',
    title: 'Ransomware activity',
    detectionSource: 'WindowsDefenderAtp',
    machineId: device.machineId ?? null,
    computerDnsName: device.dnsName ?? null,
    mitreTechniques: ['T1486'],
    evidence: [],
    ...fields,
  };
}

/** A Microsoft Graph security alert (alerts_v2) from Defender for Endpoint; `fields` replace the defaults. */
export function graphAlert(fields: Record<string, unknown> = {}) {
  return {
    '@odata.type': '#microsoft.graph.security.alert',
    id: 'da3_1',
    severity: 'high',
    status: 'new',
    serviceSource: 'microsoftDefenderForEndpoint',
    evidence: [],
    ...fields,
  };
}
