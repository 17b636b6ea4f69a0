/**
 * Family 7: a request typed by a person or a script. Unlike relayed alerts, every value was chosen by
 * the caller, so a bad one is rejected with its field named instead of being read leniently. On the
 * alert paths (POST /api/alerts, the alert queue) it comes from a relay holding the alerts key, so it
 * is a `relay-manual` alert; the manual API and the CLI build the `manual` ones (manualAlert).
 */
import { createHash } from 'node:crypto';
import { GUID } from '../kernel/ids';
import type { JsonRecord } from '../kernel/records';
import { oneLine } from '../kernel/text';
import { ISOLATION_TYPES, type IsolationType, type MdeIsolationType } from '../kernel/vocabulary';
import { type DeviceHints, deviceFromHints } from './devices';
import { type AlertFamily, anyOf, hasText, PayloadError } from './family';
import { field, text, textField } from './fields';
import { type DeviceRef, type NormalizedAlert, SEVERITIES, type Severity } from './model';

/** The device fields a person may give: the hint each fills, and what a usable value is. */
const DEVICE_FIELDS = {
  machineId: { hint: 'mdeDeviceId', expected: 'a 40-hex MDE device id' },
  hostname: { hint: 'hostname', expected: 'a host name' },
  fqdn: { hint: 'fqdn', expected: 'a DNS name' },
  aadDeviceId: { hint: 'aadDeviceId', expected: 'an Entra device id (GUID)' },
} as const satisfies Record<string, { hint: keyof DeviceHints; expected: string }>;
const DEVICE_FIELD_NAMES = Object.keys(DEVICE_FIELDS) as Array<keyof typeof DEVICE_FIELDS>;
const MAX_COMMENT = 1000;
// Ids and the requester end up in every log line and MDE comment of the request: a name, not a document.
const MAX_LABEL = 200;

/** An optional caller-chosen label, bounded. */
function labelOf(body: JsonRecord, name: 'requestedBy' | 'alertId' | 'incidentId'): string | undefined {
  const value = textField(body, name);
  if (value && value.length > MAX_LABEL)
    throw new PayloadError(`${name} is longer than ${MAX_LABEL} characters`, name);
  return value;
}

function deviceOf(body: JsonRecord) {
  const given = DEVICE_FIELD_NAMES.filter((name) => text(field(body, name)) !== undefined);
  if (given.length !== 1)
    throw new PayloadError(
      `give exactly one of ${DEVICE_FIELD_NAMES.join(', ')} (got ${given.join(', ')})`,
      given[1],
    );
  const [name] = given;
  const value = field(body, name);
  const { hint, expected } = DEVICE_FIELDS[name];
  const device = deviceFromHints({ [hint]: value });
  if (!device || (name === 'hostname' && device.fqdn))
    throw new PayloadError(`${name} "${String(value).slice(0, 80)}" is not ${expected}`, name);
  return device;
}

/** The tenant the order is for (a multi-tenant deployment requires one): a tenant id, or nothing. */
function tenantOf(body: JsonRecord): string | undefined {
  const value = field(body, 'tenant');
  if (value === undefined || value === null) return undefined;
  const tenant = text(value);
  if (!tenant || !GUID.test(tenant))
    throw new PayloadError("tenant is not a tenant id (GUID) of this deployment's tenant list", 'tenant');
  return tenant.toLowerCase();
}

function severityOf(body: JsonRecord): Severity {
  const value = field(body, 'severity');
  if (value === undefined || value === null) return 'high';
  const severity = text(value)?.toLowerCase();
  if (!severity || !(SEVERITIES as readonly string[]).includes(severity))
    throw new PayloadError(`severity must be one of ${SEVERITIES.join(', ')}`, 'severity');
  return severity as Severity;
}

function isolationTypeOf(body: JsonRecord): IsolationType | undefined {
  const value = field(body, 'isolationType');
  if (value === undefined || value === null) return undefined;
  const match = ISOLATION_TYPES.find((type) => type.toLowerCase() === text(value)?.toLowerCase());
  if (!match)
    throw new PayloadError(`isolationType must be one of ${ISOLATION_TYPES.join(', ')}`, 'isolationType');
  return match;
}

/** What a person's order says; every manual alert is built from one (manualAlert). */
export interface ManualOrderFields {
  device: DeviceRef;
  comment: string;
  severity?: Severity;
  isolationType?: MdeIsolationType;
  requestedBy?: string;
  /** Protections waived for this device, and why (the manual API's `override` with its `reason`). */
  overrideReason?: string;
  /** A release of an isolation this app did not make, and why (the manual API's `force` with its `reason`). */
  forceReason?: string;
  /** The caller's own id for the order; derived from the device and comment when absent. */
  alertId?: string;
  incidentId?: string;
  /** The tenant the order is for (manual `tenant`, CLI `--tenant`), a lower-case GUID. */
  tenantId?: string;
  /**
   * Came on an alert path: nothing verified who sent it, so it is a `relay-manual` alert (mode and
   * breaker of every alert) and its `requestedBy` is recorded as the relay's claim.
   */
  relayed?: boolean;
}

/**
 * How a relayed order's requester is recorded everywhere (MDE comment, register, outcome): as what the
 * relay claims, never as a verified caller, and never a name a relay can make look like one. One line,
 * as a verified caller's label is: a line break, a terminal escape or a bidi override would let the
 * claim erase or hide its mark where an operator reads the register.
 */
export function relayClaim(requestedBy: string | undefined): string {
  return requestedBy === undefined
    ? '(claimed by the relay) nobody named'
    : `(claimed by the relay) ${oneLine(requestedBy, MAX_LABEL)}`;
}

/** The identifier the order names the device by, strongest first, as the id of the alert uses it. */
function orderKey(device: DeviceRef): string {
  const [name, value] = device.mdeDeviceId
    ? ['machineId', device.mdeDeviceId]
    : device.fqdn
      ? ['fqdn', device.fqdn]
      : device.aadDeviceId
        ? ['aadDeviceId', device.aadDeviceId]
        : ['hostname', device.hostname ?? ''];
  return `${name}:${value.toLowerCase()}`;
}

/**
 * The alert of a person's order (HTTP body, CLI, manual API): the one place manual alerts are built.
 * Its id is deterministic, so a retried order is recognizably the same one.
 */
export function manualAlert(order: ManualOrderFields): NormalizedAlert {
  const alertId =
    order.alertId ??
    `manual-${createHash('sha256')
      .update(`${orderKey(order.device)}\n${order.comment}`)
      .digest('hex')
      .slice(0, 16)}`;
  const manual: NonNullable<NormalizedAlert['manual']> = { comment: order.comment };
  if (order.isolationType) manual.isolationType = order.isolationType;
  const requestedBy = order.relayed ? relayClaim(order.requestedBy) : order.requestedBy;
  if (requestedBy) manual.requestedBy = requestedBy;
  if (order.overrideReason) manual.overrideReason = order.overrideReason;
  if (order.forceReason) manual.forceReason = order.forceReason;
  return {
    source: order.relayed ? 'relay-manual' : 'manual',
    alertId,
    incidentId: order.incidentId ?? null,
    incidentArmId: null,
    // The title is in every MDE comment and outcome record: an override is named there, before the comment.
    title: `Manual request${order.overrideReason ? ` (protections overridden: ${order.overrideReason})` : ''}: ${order.comment.slice(0, 120)}`,
    severity: order.severity ?? 'high',
    firing: true,
    categories: [],
    mitreTechniques: [],
    devices: [order.device],
    manual,
    ...(order.tenantId && { origin: { tenantId: order.tenantId } }),
  };
}

function parse(body: JsonRecord): NormalizedAlert[] {
  const device = deviceOf(body);
  // Required field of the family: detection guarantees it is a non-empty string.
  const comment = textField(body, 'comment') as string;
  if (comment.length > MAX_COMMENT)
    throw new PayloadError(`comment is longer than ${MAX_COMMENT} characters`, 'comment');
  return [
    manualAlert({
      device,
      comment,
      severity: severityOf(body),
      isolationType: isolationTypeOf(body),
      requestedBy: labelOf(body, 'requestedBy'),
      alertId: labelOf(body, 'alertId'),
      incidentId: labelOf(body, 'incidentId'),
      tenantId: tenantOf(body),
      relayed: true,
    }),
  ];
}

export const manualRequest: AlertFamily = {
  source: 'relay-manual',
  label:
    'manual request { machineId | hostname | fqdn | aadDeviceId, comment, severity?, isolationType?, tenant? }',
  required: [anyOf(...DEVICE_FIELD_NAMES.map((name) => hasText(name))), hasText('comment')],
  parse,
};
