/**
 * Entry point of the alerts room: any accepted body (one alert of any family, a `value` list, or a
 * JSON array batch of these) to one outcome per alert or per rejected item. Detection uses the body
 * alone; one bad item never sinks the others.
 */

import { errorMessage } from '../kernel/errors';
import { isRecord, type JsonRecord } from '../kernel/records';
import { azureMonitor } from './azure-monitor';
import { type AlertFamily, PayloadError } from './family';
import { field } from './fields';
import { graphAlert } from './graph-alert';
import { manualRequest } from './manual';
import { mdeAlert } from './mde-alert';
import { MAX_LABELS_PER_ALERT, MAX_TITLE_LENGTH, type NormalizedAlert } from './model';
import { sentinelAlert } from './sentinel-alert';
import { sentinelIncident } from './sentinel-incident';
import { xdrStream } from './xdr-stream';

/** Most specific first: the manual shape's few fields also occur in other families. */
export const ALERT_FAMILIES: readonly AlertFamily[] = [
  sentinelIncident,
  sentinelAlert,
  azureMonitor,
  xdrStream,
  graphAlert,
  mdeAlert,
  manualRequest,
];

export type PayloadProblemCode =
  | 'unrecognized-payload'
  | 'invalid-field'
  | 'unreadable-payload'
  | 'empty-batch'
  /** A multi-tenant deployment refuses an alert of no configured tenant (shared/tenants/lookup.ts). */
  | 'tenant-not-named'
  | 'tenant-not-configured';

export interface PayloadProblem {
  code: PayloadProblemCode;
  message: string;
  /** Where in the body: `$`, `$[2]`, `$.value[0].severity`. */
  path: string;
}

export type ParseOutcome =
  | { path: string; alert: NormalizedAlert }
  | { path: string; problem: PayloadProblem };

const ACCEPTED = `Accepted: ${ALERT_FAMILIES.map((f) => f.label).join('; ')}; a { "value": [...] } list of MDE or Graph alerts; or a JSON array of any of these.`;

function unrecognized(path: string, body: unknown): PayloadProblem {
  let closest: { family: AlertFamily; missing: string[]; score: number } | null = null;
  if (isRecord(body)) {
    for (const family of ALERT_FAMILIES) {
      const missing = family.required.filter((r) => !r.present(body)).map((r) => r.name);
      const score = 1 - missing.length / family.required.length;
      if (score > 0 && (!closest || score > closest.score)) closest = { family, missing, score };
    }
  }
  const what = isRecord(body)
    ? 'a JSON object of no known alert shape'
    : `a JSON ${jsonType(body)}, not an alert object`;
  const hint = closest ? ` Closest: ${closest.family.label}, missing ${closest.missing.join(', ')}.` : '';
  return { code: 'unrecognized-payload', message: `${path} is ${what}.${hint} ${ACCEPTED}`, path };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Title, categories and techniques cut to their cap, each cut recorded in `truncated` (the device
 * collector records its own): whatever the body holds, what reaches the policy, the queue, the
 * response and the logs is bounded.
 */
function bounded(alert: NormalizedAlert): NormalizedAlert {
  const truncated = { ...alert.truncated };
  if (alert.title.length > MAX_TITLE_LENGTH) {
    truncated.title = alert.title.length;
    alert.title = alert.title.slice(0, MAX_TITLE_LENGTH);
  }
  for (const list of ['categories', 'mitreTechniques'] as const) {
    if (alert[list].length <= MAX_LABELS_PER_ALERT) continue;
    truncated[list] = alert[list].length;
    alert[list] = alert[list].slice(0, MAX_LABELS_PER_ALERT);
  }
  if (Object.keys(truncated).length > 0) alert.truncated = truncated;
  return alert;
}

function parseWith(family: AlertFamily, body: JsonRecord, path: string): ParseOutcome[] {
  try {
    return family.parse(body).map((alert) => ({ path, alert: bounded(alert) }));
  } catch (error) {
    if (error instanceof PayloadError) {
      const at = `${path}.${error.field}`;
      return [{ path, problem: { code: 'invalid-field', message: `${at}: ${error.message}`, path: at } }];
    }
    // A parser bug on an input nobody foresaw costs this item, never the batch or a 500.
    const message = `${path} looks like a ${family.label} but could not be read: ${errorMessage(error)}`;
    return [{ path, problem: { code: 'unreadable-payload', message, path } }];
  }
}

function parseItem(body: unknown, path: string, allowList: boolean): ParseOutcome[] {
  if (isRecord(body)) {
    const family = ALERT_FAMILIES.find((f) => f.required.every((r) => r.present(body)));
    if (family) return parseWith(family, body, path);
    // MDE and Graph list responses: `{ "@odata.context": ..., "value": [ alert, ... ] }`.
    const value = field(body, 'value');
    if (allowList && Array.isArray(value) && value.length > 0)
      return value.flatMap((item, index) => parseItem(item, `${path}.value[${index}]`, false));
  }
  return [{ path, problem: unrecognized(path, body) }];
}

export function parseAlertPayload(body: unknown): ParseOutcome[] {
  if (!Array.isArray(body)) return parseItem(body, '$', true);
  if (body.length === 0)
    return [
      { path: '$', problem: { code: 'empty-batch', message: 'the batch is an empty array', path: '$' } },
    ];
  return body.flatMap((item, index) => parseItem(item, `$[${index}]`, true));
}

export function isParsed(outcome: ParseOutcome): outcome is { path: string; alert: NormalizedAlert } {
  return 'alert' in outcome;
}
