/**
 * The record contract (docs/records.md): every field a decision, outcome, dead-letter or note record
 * may carry, by its path in the JSON line, and the fields each kind always carries. Queries, the
 * workbook and the alert rules (infra/) read records by these names only; a test holds both the
 * records and the queries to this one list.
 */
import { isRecord, type JsonRecord } from './records';

export const RECORD_FIELDS = {
  event: 'what the record is: alert-decision, isolation-outcome, isolation-dead-letter, or a note',
  level: 'info, warn or error (dead-letter records and notes; the trace severity says it too)',
  tenant: 'the tenant (Entra tenant id) a record is about; absent in a single-tenant deployment',
  approval:
    'outcome records: the approval the request was held for: id, state and every vote (verdict, by, at, reason)',
  approvalId: 'awaiting-approval outcomes and approval notes: the approval that holds the isolation',
  requestId: 'the isolation request: one per device and alert, the key of its outcome',
  source: 'decision records: where the alert came from (sentinel, azure-monitor, defender, manual, ...)',
  alertId: 'decision records: the alert id as the source names it',
  incidentId: 'the incident the alert belongs to, when its source names one',
  severity: 'decision records: the alert severity',
  firing: 'decision records: false when the source says the alert was resolved',
  truncated: 'decision records: the lists an alert named over their cap, and how many entries each had',
  devices: 'alert-received: how many devices the alert named',
  device: 'the device: its strongest identifier (decision) or its identifiers as an object (outcome)',
  decision: 'alert-received: `none` when the alert named no device to decide',
  action:
    'decision: isolate, release, escalate or skip; outcome: isolate or release; notes: the request action',
  isolationType: 'Full, Selective or UnManagedDevice',
  rule: 'the policy rule that decided (`manual` for manual orders)',
  reason: 'why: the rule’s reason, the outcome’s cause, the dead-letter reason, or why the breaker opened',
  policyVersion: 'the version of the policy that decided',
  mode: 'dry-run or enforce, as the request was decided',
  duplicate: 'decision records: true when the device’s open request absorbed this decision',
  carriedBy: 'the request that carries this one (coalesced)',
  stage: 'alert-failed: the intake stage that failed (state, decide, enqueue)',
  error: 'alert-failed: the cause, for the operator',
  path: 'alert-rejected: where in the body the rejected item was',
  code: 'alert-rejected: why the item was rejected, as a code',
  reasons: 'alert-message-partly-rejected: the rejection codes of the message’s items',
  messageId: 'the Service Bus message',
  outcome: 'how the request ended: succeeded, failed, timed-out, cancelled, skipped, escalated, dry-run, ...',
  machineId: 'the MDE device id the request acted on',
  computerDnsName: 'the MDE device name',
  actionId: 'the MDE machine action',
  actionStatus: 'the MDE machine action status at the end',
  adopted: 'true when the action was posted by someone else (or an earlier delivery) and taken over',
  'alert.source': 'outcome records: where the alert came from',
  'alert.alertId': 'outcome records: the alert id',
  'alert.incidentId': 'outcome records: the incident id',
  'alert.incidentArmId': 'outcome records: the Sentinel incident resource id',
  'alert.severity': 'outcome records: the alert severity',
  'alert.title': 'outcome records: the alert title',
  'requestedBy.kind': 'rule, or caller for a person’s order',
  'requestedBy.name': 'the rule, or the caller who ordered it',
  attempts: 'failed attempts (transient errors) before the end',
  attempt: 'notes: failed attempts so far',
  deferrals: 'times the request waited for API budget, a Retry-After or the next tracking status list',
  rateLimited: '429 answers the request met',
  quotaCeilings: 'the lower ceilings 429s taught the budget, in force at the end',
  'absorbed.count': 'alerts the request absorbed',
  'absorbed.alerts': 'the first absorbed alerts',
  'timings.alertReceivedAt': 'when the alert was received',
  'timings.postedAt': 'when the action was posted to MDE (null when none was)',
  'timings.terminalAt': 'when the request ended',
  'timings.receivedToPostedMs': 'alert received to action posted, in ms',
  'timings.postedToTerminalMs': 'action posted to its end, in ms',
  'timings.receivedToTerminalMs': 'alert received to the end, in ms',
  description: 'dead-letter records: what is wrong with the message',
  deadLetteredAt: 'dead-letter records: when',
  request: 'dead-letter records: the request, or the unusable body as received',
  why: 'notes: what happened and what it means',
  dedupeKey: 'notes: the request’s duplicate-detection key',
  deviceKey: 'notes: the key of the device’s open request',
  retryAt: 'notes: when the request is delivered again',
  holder: 'notes: the process holding claims',
  claim: 'notes: the claim',
  leftBy: 'notes: the stopped process that left an open request',
  absorbedAlerts: 'notes: how many alerts that open request had absorbed',
  alertIds: 'notes: the alerts of an open request closed unsent',
  status: 'notes: the HTTP status an incident comment met',
  incidentArmId: 'notes: the incident resource a comment was for',
  commentId: 'notes: the incident comment',
  deferredRequests: 'notes: requests deferred while the state store is down',
  waitingSince: 'notes: since when the state store is down',
  api: 'notes: the MDE API a quota ceiling is about',
  windowMs: 'notes: the quota window',
  limit: 'notes: the window’s own limit',
  learned: 'notes: the calls allowed instead',
  until: 'notes: until when',
  component: 'configuration-invalid: settings or policy',
  details: 'configuration-invalid: what is wrong',
} as const satisfies Record<string, string>;

export type RecordField = keyof typeof RECORD_FIELDS;

export function isRecordField(path: string): path is RecordField {
  return Object.hasOwn(RECORD_FIELDS, path);
}

const INTAKE_EVENTS = [
  'alert-received',
  'alert-rejected',
  'alert-failed',
  'alert-message-partly-rejected',
  'breaker-opened',
];

/** The kinds of record, each with the fields it always carries. */
export const RECORD_KINDS = {
  decision: {
    events: ['alert-decision'],
    required: [
      'event',
      'source',
      'alertId',
      'incidentId',
      'severity',
      'device',
      'action',
      'rule',
      'reason',
      'policyVersion',
      'mode',
      'requestId',
    ],
  },
  intake: { events: INTAKE_EVENTS, required: ['event'] },
  outcome: {
    events: ['isolation-outcome'],
    required: [
      'event',
      'outcome',
      'reason',
      'requestId',
      'action',
      'device',
      'machineId',
      'computerDnsName',
      'actionId',
      'actionStatus',
      'alert.source',
      'alert.alertId',
      'alert.incidentId',
      'rule',
      'requestedBy.kind',
      'requestedBy.name',
      'policyVersion',
      'mode',
      'rateLimited',
      'timings.alertReceivedAt',
      'timings.receivedToTerminalMs',
    ],
  },
  'dead-letter': {
    events: ['isolation-dead-letter'],
    required: ['event', 'level', 'reason', 'description', 'messageId', 'deadLetteredAt', 'request'],
  },
  /** Every other event: progress, retries, and what went wrong around a request. */
  note: { events: [], required: ['event', 'level'] },
} as const satisfies Record<string, { events: readonly string[]; required: readonly RecordField[] }>;

export type RecordKind = keyof typeof RECORD_KINDS;

export function recordKind(record: JsonRecord): RecordKind {
  const event = String(record.event);
  for (const [kind, { events }] of Object.entries(RECORD_KINDS))
    if ((events as readonly string[]).includes(event)) return kind as RecordKind;
  return 'note';
}

/** The paths of a record's values; a path the contract names is read whole (`device`, `request`). */
function fieldPaths(record: JsonRecord, prefix = ''): string[] {
  return Object.entries(record).flatMap(([key, value]) => {
    const path = prefix + key;
    return isRecord(value) && !isRecordField(path) ? fieldPaths(value, `${path}.`) : [path];
  });
}

/** What in `record` breaks the contract: fields it does not name, fields its kind must carry. */
export function contractProblems(record: JsonRecord): string[] {
  const paths = fieldPaths(record);
  const unknown = paths.filter((path) => !isRecordField(path)).map((path) => `unknown field ${path}`);
  const kind = recordKind(record);
  const missing = RECORD_KINDS[kind].required
    .filter((field) => !paths.includes(field))
    .map((field) => `${kind} record without ${field}`);
  return [...unknown, ...missing];
}
