/**
 * Every event kind through each channel kind, over real HTTP to loopback receivers that check what a
 * Teams Workflows webhook, a Slack incoming webhook and a Standard Webhooks receiver would check.
 */
import Ajv from 'ajv';
import { Webhook } from 'standardwebhooks';
import { MAX_TEAMS_MESSAGE_BYTES } from '../../shared/notify/adaptive-card';
import { NOTIFY_EVENT_KINDS } from '../../shared/notify/events';
import { Notifier } from '../../shared/notify/notifier';
import { readNotifySettings } from '../../shared/notify/settings';
import { MAX_SECTION_CHARS, MAX_SLACK_BLOCKS } from '../../shared/notify/slack';
import { handTimers } from '../support/hand-timers';
import { WebhookReceiver } from '../support/webhook-receiver';
import { CARD_SCHEMA } from './card-schema';
import { HOSTILE_TITLE, SAMPLE_EVENTS } from './sample-events';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const validCard = new Ajv({ allErrors: true }).compile(CARD_SCHEMA);

interface TeamsBody {
  type: string;
  attachments: { contentType: string; contentUrl: null; content: unknown }[];
}
interface SlackBody {
  text: string;
  blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: unknown[] }[];
}

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await WebhookReceiver.start();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.received.length = 0;
});

function channels(): string {
  return JSON.stringify([
    { name: 'soc-teams', kind: 'teams', url: receiver.url('teams') },
    { name: 'soc-slack', kind: 'slack', url: receiver.url('slack') },
    { name: 'siem', kind: 'webhook', url: receiver.url('webhook'), secret: SECRET },
  ]);
}

/** Every sample event, each alone in its interval: one message per channel each. */
async function sendEachKind(start: number) {
  const timers = handTimers(start);
  const notes: Record<string, unknown>[] = [];
  const settings = readNotifySettings(
    { NOTIFY_CHANNELS: channels(), NOTIFY_DIGEST_INTERVAL: '1s' },
    'commercial',
  );
  const notifier = new Notifier({ settings, log: (_level, record) => notes.push(record), timers });
  for (const kind of NOTIFY_EVENT_KINDS) {
    notifier.notify(SAMPLE_EVENTS[kind]);
    await notifier.idle();
    timers.advance(settings.digestIntervalMs);
  }
  await notifier.close();
  const on = (name: string) => receiver.received.filter((r) => r.path.startsWith(`/hooks/${name}/`));
  return { notes, teams: on('teams'), slack: on('slack'), webhook: on('webhook') };
}

describe('each channel gets each event kind in the shape its receiver takes', () => {
  it('Teams: the Workflows envelope around an Adaptive Card 1.5 that validates, under 28 KB', async () => {
    const { teams, notes } = await sendEachKind(Date.now());
    expect(notes).toEqual([]);
    expect(teams).toHaveLength(NOTIFY_EVENT_KINDS.length);
    for (const message of teams) {
      expect(Buffer.byteLength(message.body)).toBeLessThanOrEqual(MAX_TEAMS_MESSAGE_BYTES);
      const body = JSON.parse(message.body) as TeamsBody;
      expect(body.type).toBe('message');
      expect(body.attachments).toHaveLength(1);
      expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
      const valid = validCard(body.attachments[0].content);
      expect(validCard.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    }
    // Alert text stays text: the title's link is escaped, not a link.
    const escalated = teams[0].body;
    expect(escalated).not.toContain('[click](https://evil.example)');
    expect(escalated).toContain('[click] (https://evil.example)');
  });

  it('Slack: a text fallback and Block Kit inside its limits, alert markup escaped', async () => {
    const { slack } = await sendEachKind(Date.now());
    expect(slack).toHaveLength(NOTIFY_EVENT_KINDS.length);
    for (const message of slack) {
      const body = JSON.parse(message.body) as SlackBody;
      expect(body.text.length).toBeGreaterThan(0);
      expect(body.blocks.length).toBeLessThanOrEqual(MAX_SLACK_BLOCKS);
      for (const block of body.blocks) {
        if (block.type === 'header') expect(block.text?.text.length).toBeLessThanOrEqual(150);
        if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(MAX_SECTION_CHARS);
        expect(block.fields?.length ?? 0).toBeLessThanOrEqual(10);
        for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2_000);
      }
    }
    expect(slack[0].body).not.toContain('<b>');
    expect(slack[0].body).toContain('&lt;b&gt;');
  });

  it('webhook: signed per Standard Webhooks, the signature verified with the secret', async () => {
    const { webhook } = await sendEachKind(Date.now());
    expect(webhook).toHaveLength(NOTIFY_EVENT_KINDS.length);
    const verifier = new Webhook(SECRET);
    const types = webhook.map((message) => {
      const headers = {
        'webhook-id': String(message.headers['webhook-id']),
        'webhook-timestamp': String(message.headers['webhook-timestamp']),
        'webhook-signature': String(message.headers['webhook-signature']),
      };
      expect(headers['webhook-id']).toMatch(/^msg_/);
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      return (verifier.verify(message.body, headers) as { type: string }).type;
    });
    expect(types).toEqual(NOTIFY_EVENT_KINDS.map((kind) => `mde-isolator.${kind}`));
    // The full event goes to a machine: the title is not cut for it.
    expect(webhook[0].body).toContain(JSON.stringify(HOSTILE_TITLE).slice(1, -1));
  });

  it('a body changed in transit, or signed with another secret, fails the verification', async () => {
    const { webhook } = await sendEachKind(Date.now());
    const [message] = webhook;
    const headers = {
      'webhook-id': String(message.headers['webhook-id']),
      'webhook-timestamp': String(message.headers['webhook-timestamp']),
      'webhook-signature': String(message.headers['webhook-signature']),
    };
    expect(() => new Webhook(SECRET).verify(message.body.replace('high', 'low'), headers)).toThrow();
    const other = `whsec_${Buffer.from('another secret of 32 bytes here!').toString('base64')}`;
    expect(() => new Webhook(other).verify(message.body, headers)).toThrow();
  });
});
