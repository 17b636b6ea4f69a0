/**
 * Posts every outcome as a comment on the Sentinel incident of its alert (docs/architecture.md §1), so the
 * analyst working the incident sees what happened to the device without opening the logs.
 *
 * A comment is a side channel: the outcome is already decided and logged when it is posted, so a
 * failed comment never touches the request. It is logged as one warning and dropped.
 */
import { createHash } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { DispatchReporter, OutcomeRecord } from '../dispatch/outcome';
import { JsonClient, type JsonResponse } from '../http/json-client';
import { isSentinelIncidentArmId } from '../kernel/arm-id';
import { deviceDisplayName } from '../kernel/device-label';
import { errorSummary } from '../kernel/errors';
import { oneLine, truncate } from '../kernel/text';

export const INCIDENT_COMMENTS_API_VERSION = '2023-02-01';

/** Sentinel accepts 30k characters; an analyst reads a paragraph. */
export const MAX_COMMENT_CHARS = 2_000;

export interface IncidentCommentOptions {
  credential: TokenCredential;
  /** ARM of the cloud (`AppConfig.armBaseUrl`); the token is asked for this audience. */
  armBaseUrl: string;
  /** Where requests go when not to `armBaseUrl` (tests: a loopback stand-in for ARM). */
  endpointUrl?: string;
  timeoutMs: number;
  /** Longest wait a 429's Retry-After may ask for before the one retry; a longer one is capped. */
  maxRetryAfterMs?: number;
}

export interface IncidentCommentReporter extends DispatchReporter {
  /** Resolves when every comment started so far has been posted or given up. */
  idle(): Promise<void>;
}

/** A GUID from request and outcome: reporting the same outcome again PUTs the same comment. */
export function commentIdFor(record: Pick<OutcomeRecord, 'requestId' | 'outcome'>): string {
  const hex = createHash('sha256').update(`${record.requestId}:${record.outcome}`).digest('hex');
  // Shaped as a name-based (version 5, RFC 4122 variant) GUID, which ARM accepts as a resource name.
  const variant = ((Number.parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Sentinel renders comments as HTML: text from alerts must stay text. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The comment text: one paragraph, no control or format characters, at most MAX_COMMENT_CHARS. */
export function commentMessage(record: OutcomeRecord): string {
  const device = deviceDisplayName(record.device, record) ?? 'unknown device';
  const parts = [
    `mde-isolator: ${record.action} of ${device}: ${record.outcome}.`,
    `Reason: ${record.reason.replace(/\.+$/, '')}.`,
    record.actionId ? `MDE action ${record.actionId}${record.adopted ? ' (adopted)' : ''}.` : null,
    `Rule ${record.rule}, requested by ${record.requestedBy.kind} ${record.requestedBy.name}.`,
    `Policy ${record.policyVersion}, ${record.mode} mode.`,
    `Request ${record.requestId}.`,
  ];
  const text = escapeHtml(
    oneLine(parts.filter((part): part is string => part !== null).join(' '), Number.POSITIVE_INFINITY),
  );
  // Never leave half an entity at the cut.
  return truncate(text, MAX_COMMENT_CHARS).replace(/&[a-z]*…$/, '…');
}

/**
 * Wraps `inner`: every outcome goes to it first, then (when its alert names a Sentinel incident) to
 * the incident as a comment. Warnings about comments go to `inner.note`.
 */
export function withIncidentComments(
  inner: DispatchReporter,
  options: IncidentCommentOptions,
): IncidentCommentReporter {
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 5_000;
  const http = new JsonClient({
    baseUrl: options.endpointUrl ?? options.armBaseUrl,
    scope: `${options.armBaseUrl.replace(/\/+$/, '')}/.default`,
    credential: options.credential,
    timeoutMs: options.timeoutMs,
  });
  const pending = new Set<Promise<void>>();

  function put(incidentArmId: string, commentId: string, message: string): Promise<JsonResponse> {
    return http.exchange({
      method: 'PUT',
      path: `${incidentArmId}/comments/${commentId}`,
      params: { 'api-version': INCIDENT_COMMENTS_API_VERSION },
      body: { properties: { message } },
    });
  }

  async function post(record: OutcomeRecord, incidentArmId: string): Promise<void> {
    const commentId = commentIdFor(record);
    const warn = (status: number | null, why: string) =>
      inner.note('warn', {
        event: 'incident-comment-failed',
        status,
        why,
        incidentId: record.alert.incidentId,
        incidentArmId,
        commentId,
        requestId: record.requestId,
        outcome: record.outcome,
      });
    if (!isSentinelIncidentArmId(incidentArmId)) return warn(null, 'not a Sentinel incident resource id');
    const message = commentMessage(record);
    try {
      let attempt = await put(incidentArmId, commentId, message);
      if (attempt.status === 429) {
        const wait = Math.min(attempt.retryAfterMs ?? 1_000, maxRetryAfterMs);
        await new Promise((resolve) => setTimeout(resolve, wait));
        attempt = await put(incidentArmId, commentId, message);
      }
      if (attempt.status < 200 || attempt.status >= 300) {
        const errorCode = (attempt.data as { error?: { code?: unknown } } | null)?.error?.code;
        warn(
          attempt.status,
          `ARM answered ${attempt.status}${typeof errorCode === 'string' ? ` ${errorCode}` : ''}${attempt.status === 429 ? ' twice' : ''}`,
        );
      }
    } catch (error) {
      // Only the error's name and message, which the JSON client keeps free of the request and token.
      warn(null, errorSummary(error));
    }
  }

  return {
    outcome(record) {
      inner.outcome(record);
      const incidentArmId = record.alert.incidentArmId;
      if (!incidentArmId) return;
      // Nothing may reach the worker from here, not even a log sink that throws.
      const done = post(record, incidentArmId)
        .catch(() => undefined)
        .finally(() => pending.delete(done));
      pending.add(done);
    },
    note: (level, record) => inner.note(level, record),
    async idle() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}
