/**
 * Generic JSON webhooks signed per the Standard Webhooks specification 1.0
 * (docs/notifications.md "Signed webhooks"): `webhook-id` (the same on every retry of one message),
 * `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`, keyed with the base64 bytes after `whsec_`.
 */
import { createHmac } from 'node:crypto';
import type { Digest } from './digest';
import type { NotifyEvent } from './events';

export const SECRET_PREFIX = 'whsec_';
/** The spec asks for 24 to 64 random bytes. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
/** Events a digest payload carries at most; the counts cover the rest. */
export const MAX_WEBHOOK_DIGEST_EVENTS = 200;

/** The signing key of `secret`, or null when it is not `whsec_` and 24 to 64 bytes of base64. */
export function signingKey(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : null;
}

export function signatureHeaders(
  key: Buffer,
  id: string,
  nowMs: number,
  body: string,
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

/** The spec's recommended payload: `type`, `timestamp`, `data`. */
export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: NotifyEvent | (Omit<Digest, 'events'> & { events: NotifyEvent[]; more: number });
}

export function eventPayload(event: NotifyEvent): WebhookPayload {
  return { type: `mde-isolator.${event.kind}`, timestamp: event.at, data: event };
}

export function digestPayload(digest: Digest): WebhookPayload {
  const events = digest.events.slice(0, MAX_WEBHOOK_DIGEST_EVENTS);
  return {
    type: 'mde-isolator.digest',
    timestamp: digest.until,
    data: { ...digest, events, more: digest.total - events.length },
  };
}
