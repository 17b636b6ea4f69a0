/**
 * The body of a manual isolate or release, in this app's shape (`POST /api/isolate`, `/api/release`)
 * or MDE's (`POST /api/machines/{id}/isolate`, `/unisolate`: `Comment`, `IsolationType`, docs/mde-api.md
 * §5), so a script written for the MDE API can point at this app. Every value was chosen by a person,
 * so a bad one is refused with its field named, never read leniently.
 */

import { deviceFromHints, deviceFromIp } from '../alerts/devices';
import type { DeviceRef } from '../alerts/model';
import { DURATION_FORM, parseDuration } from '../kernel/duration';
import { isRecord, type JsonRecord } from '../kernel/records';
import { MDE_ISOLATION_TYPES, type MdeIsolationType } from '../kernel/vocabulary';
import type { OnLift } from '../policy/document';
import { MAX_DISPLAY_NAME } from '../tenants/parse';

export type ManualVerb = 'isolate' | 'release';

export interface ManualCommand {
  verb: ManualVerb;
  device: DeviceRef;
  comment: string;
  isolationType: MdeIsolationType;
  /** Protections waived; only with a reason. */
  override: boolean;
  /** Release of an isolation this app did not make; only with a reason. */
  force: boolean;
  reason: string | null;
  /** Decide and report, post nothing, whatever the mode. */
  dryRun: boolean;
  /** Service Bus: wait (bounded) for the worker to post or adopt the action. */
  wait: boolean;
  /** An isolation's time box (`isolateFor`, kernel/duration.ts): released when it ends. */
  isolateForMs: number | null;
  /** `renew`: the person asks for a new isolation at MDE's lift. */
  onLift: OnLift;
  /** The tenant the order acts in, as the caller named it (id or displayName); resolved by manual/tenant.ts. */
  tenant: string | null;
}

export interface OrderProblem {
  status: 400;
  code: 'invalid-order';
  message: string;
  path: string;
}

const COMMENT_MAX = 1000;
const REASON_MAX = 300;

/** The device fields of the native shape: exactly one names the device. */
const DEVICE_FIELDS = {
  machineId: { hint: 'mdeDeviceId', expected: 'a 40-hex MDE machine id' },
  fqdn: { hint: 'fqdn', expected: 'a DNS name with a domain' },
  hostname: { hint: 'hostname', expected: 'a host name without a domain' },
  aadDeviceId: { hint: 'aadDeviceId', expected: 'an Entra device id (GUID)' },
  ip: { hint: 'ipAddresses', expected: 'an IPv4 or IPv6 address' },
} as const;
type DeviceField = keyof typeof DEVICE_FIELDS;
type DeviceHint = (typeof DEVICE_FIELDS)[DeviceField]['hint'];
const DEVICE_FIELD_NAMES = Object.keys(DEVICE_FIELDS) as DeviceField[];

const NATIVE_FIELDS = [
  ...DEVICE_FIELD_NAMES,
  'comment',
  'isolationType',
  'override',
  'reason',
  'dryRun',
  'wait',
  'force',
  'isolateFor',
  'onLift',
  'tenant',
];
const MDE_FIELDS = [
  'Comment',
  'IsolationType',
  'override',
  'reason',
  'dryRun',
  'wait',
  'force',
  'isolateFor',
  'onLift',
  'tenant',
];
/** Fields only an isolation takes. */
const ISOLATE_ONLY = ['isolationType', 'IsolationType', 'isolateFor', 'onLift'];

class Refusal extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

function problemOf(error: unknown): OrderProblem {
  if (!(error instanceof Refusal)) throw error;
  return { status: 400, code: 'invalid-order', message: error.message, path: error.path };
}

function onlyKnown(body: JsonRecord, known: readonly string[]): void {
  const unknown = Object.keys(body).find((key) => !known.includes(key));
  if (unknown !== undefined)
    throw new Refusal(
      `unknown field "${unknown.slice(0, 40)}"; accepted: ${known.join(', ')}`,
      `$.${unknown.slice(0, 40)}`,
    );
}

function flag(body: JsonRecord, name: string): boolean {
  const value = body[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new Refusal(`${name} must be true or false`, `$.${name}`);
  return value;
}

function boundedText(body: JsonRecord, name: string, max: number, required: boolean): string | null {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw new Refusal(`${name} is required: say why`, `$.${name}`);
    return null;
  }
  if (typeof value !== 'string' || value.trim() === '')
    throw new Refusal(`${name} must be a non-empty string`, `$.${name}`);
  if (value.length > max) throw new Refusal(`${name} is longer than ${max} characters`, `$.${name}`);
  return value.trim();
}

function durationOf(body: JsonRecord, name: string, required: boolean): number | null {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw new Refusal(`${name} is required: ${DURATION_FORM}`, `$.${name}`);
    return null;
  }
  const ms = typeof value === 'string' ? parseDuration(value) : null;
  if (ms === null) throw new Refusal(`${name} must be ${DURATION_FORM}`, `$.${name}`);
  return ms;
}

function onLiftOf(body: JsonRecord): OnLift {
  const value = body.onLift;
  if (value === undefined || value === null) return 'let-lift';
  if (value !== 'let-lift' && value !== 'renew')
    throw new Refusal('onLift must be let-lift or renew', '$.onLift');
  return value;
}

function isolationTypeOf(body: JsonRecord, name: string): MdeIsolationType {
  const value = body[name];
  if (value === undefined || value === null) return 'Full';
  const match = MDE_ISOLATION_TYPES.find(
    (type) => typeof value === 'string' && type.toLowerCase() === value.toLowerCase(),
  );
  if (!match) throw new Refusal(`${name} must be one of ${MDE_ISOLATION_TYPES.join(', ')}`, `$.${name}`);
  return match;
}

function deviceFromText(hint: DeviceHint, value: string): DeviceRef | null {
  return hint === 'ipAddresses' ? deviceFromIp(value) : deviceFromHints({ [hint]: value });
}

function deviceOf(name: DeviceField, value: unknown): DeviceRef {
  const { hint, expected } = DEVICE_FIELDS[name];
  const device = typeof value === 'string' ? deviceFromText(hint, value) : null;
  // A host name with a domain is an FQDN and the other way round: one field, one meaning.
  const fits =
    device !== null &&
    (name !== 'hostname' || !device.fqdn) &&
    (name !== 'fqdn' || String(value).includes('.'));
  if (!fits) throw new Refusal(`${name} "${String(value).slice(0, 80)}" is not ${expected}`, `$.${name}`);
  return device;
}

function nativeDevice(body: JsonRecord): DeviceRef {
  const given = DEVICE_FIELD_NAMES.filter((name) => body[name] !== undefined && body[name] !== null);
  if (given.length !== 1)
    throw new Refusal(
      `give exactly one of ${DEVICE_FIELD_NAMES.join(', ')}${given.length ? ` (got ${given.join(', ')})` : ''}`,
      given.length ? `$.${given[1]}` : '$',
    );
  return deviceOf(given[0], body[given[0]]);
}

/** Options common to both shapes; override and force each need a reason. */
function options(body: JsonRecord, verb: ManualVerb) {
  const override = flag(body, 'override');
  const force = flag(body, 'force');
  if (force && verb !== 'release') throw new Refusal('force applies to a release only', '$.force');
  if (override && verb !== 'isolate')
    throw new Refusal('override applies to an isolation only', '$.override');
  const reason = boundedText(body, 'reason', REASON_MAX, override || force);
  return {
    override,
    force,
    reason,
    dryRun: flag(body, 'dryRun'),
    wait: flag(body, 'wait'),
    isolateForMs: verb === 'isolate' ? durationOf(body, 'isolateFor', false) : null,
    onLift: onLiftOf(body),
    tenant: boundedText(body, 'tenant', MAX_DISPLAY_NAME, false),
  };
}

function ensureObject(body: unknown): JsonRecord {
  if (!isRecord(body)) throw new Refusal('the body must be a JSON object', '$');
  return body;
}

/** `POST /api/isolate` and `/api/release`. */
export function parseOrder(verb: ManualVerb, body: unknown): ManualCommand | OrderProblem {
  try {
    const record = ensureObject(body);
    onlyKnown(
      record,
      verb === 'isolate' ? NATIVE_FIELDS : NATIVE_FIELDS.filter((f) => !ISOLATE_ONLY.includes(f)),
    );
    return {
      verb,
      device: nativeDevice(record),
      comment: boundedText(record, 'comment', COMMENT_MAX, true) as string,
      isolationType: verb === 'isolate' ? isolationTypeOf(record, 'isolationType') : 'Full',
      ...options(record, verb),
    };
  } catch (error) {
    return problemOf(error);
  }
}

/** `POST /api/machines/{id}/isolate` and `/unisolate`: the machine id is in the path. */
export function parseMdeOrder(
  verb: ManualVerb,
  machineId: string,
  body: unknown,
): ManualCommand | OrderProblem {
  try {
    const device = deviceOf('machineId', machineId);
    const record = ensureObject(body);
    onlyKnown(record, verb === 'isolate' ? MDE_FIELDS : MDE_FIELDS.filter((f) => !ISOLATE_ONLY.includes(f)));
    return {
      verb,
      device,
      comment: boundedText(record, 'Comment', COMMENT_MAX, true) as string,
      isolationType: verb === 'isolate' ? isolationTypeOf(record, 'IsolationType') : 'Full',
      ...options(record, verb),
    };
  } catch (error) {
    return problemOf(error);
  }
}

/** `POST /api/actions/{id}/cancel`: why (required) and whether to cancel an action this app did not post. */
export interface CancelBody {
  reason: string;
  force: boolean;
}

/** A small JSON object with only `fields`, read by `read`; any problem is the caller's 400/422. */
function parseSmallBody<Body>(
  body: unknown,
  fields: string[],
  read: (record: Record<string, unknown>) => Body,
): Body | OrderProblem {
  try {
    const record = ensureObject(body);
    onlyKnown(record, fields);
    return read(record);
  } catch (error) {
    return problemOf(error);
  }
}

export function parseCancelBody(body: unknown): CancelBody | OrderProblem {
  return parseSmallBody(body, ['reason', 'force'], (record) => ({
    reason: boundedText(record, 'reason', REASON_MAX, true) as string,
    force: flag(record, 'force'),
  }));
}

/** `POST /api/isolations/{machineId}/extend`: how much later the time box ends, and why (required). */
export interface ExtendBody {
  byMs: number;
  reason: string;
}

export function parseExtendBody(body: unknown): ExtendBody | OrderProblem {
  return parseSmallBody(body, ['for', 'reason'], (record) => ({
    byMs: durationOf(record, 'for', true) as number,
    reason: boundedText(record, 'reason', REASON_MAX, true) as string,
  }));
}

/** `POST /api/approvals/{id}/approve` or `/deny`: why (required; the register and the outcome keep it). */
export interface VoteBody {
  reason: string;
}

export function parseVoteBody(body: unknown): VoteBody | OrderProblem {
  return parseSmallBody(body, ['reason'], (record) => ({
    reason: boundedText(record, 'reason', REASON_MAX, true) as string,
  }));
}

export function isOrderProblem<T extends object>(value: T | OrderProblem): value is OrderProblem {
  return 'code' in value;
}
