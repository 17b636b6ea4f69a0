/**
 * An event or a digest as the body one channel kind posts: a Teams card envelope, a Slack message, or
 * a signed Standard Webhooks payload.
 */
import { randomUUID } from 'node:crypto';
import { digestCard, eventCard, teamsMessage } from './adaptive-card';
import type { OutgoingMessage } from './delivery';
import type { Digest } from './digest';
import type { NotifyEvent, NotifyLinks } from './events';
import { type Presentation, present } from './presentation';
import type { NotifyChannel } from './settings';
import { digestPayload, eventPayload, signatureHeaders } from './signed-webhook';
import { digestMessage, eventMessage } from './slack';

const unsigned = () => ({});

function webhookMessage(channel: NotifyChannel, payload: unknown): OutgoingMessage {
  const body = JSON.stringify(payload);
  // One id for every attempt of the message, so a receiver drops a retry it already has.
  const id = `msg_${randomUUID()}`;
  const key = channel.signingKey;
  return {
    url: channel.url,
    body,
    headers: key ? (now) => signatureHeaders(key, id, now, body) : unsigned,
  };
}

export function eventOutgoing(
  channel: NotifyChannel,
  event: NotifyEvent,
  links: NotifyLinks,
): OutgoingMessage {
  const view = present(event, links);
  switch (channel.kind) {
    case 'teams':
      return { url: channel.url, body: JSON.stringify(teamsMessage(eventCard(view))), headers: unsigned };
    case 'slack':
      return { url: channel.url, body: JSON.stringify(eventMessage(view)), headers: unsigned };
    case 'webhook':
      return webhookMessage(channel, eventPayload(event));
  }
}

export function digestOutgoing(channel: NotifyChannel, digest: Digest, links: NotifyLinks): OutgoingMessage {
  const views = (): Presentation[] => digest.events.map((event) => present(event, links));
  switch (channel.kind) {
    case 'teams':
      return {
        url: channel.url,
        body: JSON.stringify(teamsMessage(digestCard(digest, views()))),
        headers: unsigned,
      };
    case 'slack':
      return { url: channel.url, body: JSON.stringify(digestMessage(digest, views())), headers: unsigned };
    case 'webhook':
      return webhookMessage(channel, digestPayload(digest));
  }
}
