/**
 * Notifications from the whole pipeline (simulator, intake, queue, worker): a storm of 2,000
 * escalations told as a bounded number of messages, and a receiver that always fails, which leaves
 * the isolation as it was and costs one log line without the URL, and a count.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import Ajv from 'ajv';
import { Webhook } from 'standardwebhooks';
import { MAX_TEAMS_MESSAGE_BYTES } from '../../shared/notify/adaptive-card';
import { NOTIFY_METRICS } from '../../shared/notify/notifier';
import { MAX_SECTION_CHARS, MAX_SLACK_BLOCKS } from '../../shared/notify/slack';
import { type Harness, postsOn, startHarness, TEST_POLICY } from '../integration/harness';
import { mdeAlert } from '../support/alert-payloads';
import { fireUntil, type HandTimers, handTimers } from '../support/hand-timers';
import { WebhookReceiver } from '../support/webhook-receiver';
import { CARD_SCHEMA } from './card-schema';

const SECRET = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;
const STORM = 2_000;
const ESCALATE_ALL = {
  version: 'notify-1',
  mode: 'enforce',
  rules: [{ name: 'analyst-decides', minSeverity: 'low', action: 'escalate' }],
  defaultAction: 'escalate',
  blastRadius: { maxDevicesPerAlert: 50, maxIsolations: 10_000, windowMinutes: 60 },
};

function channelsAt(receiver: WebhookReceiver) {
  return [
    { name: 'soc-teams', kind: 'teams', url: receiver.url('teams') },
    { name: 'soc-slack', kind: 'slack', url: receiver.url('slack'), events: ['escalated', 'breaker-opened'] },
    { name: 'siem', kind: 'webhook', url: receiver.url('webhook'), secret: SECRET },
  ];
}

describe('a storm of 2,000 escalations', () => {
  let receiver: WebhookReceiver;
  let timers: HandTimers;
  let h: Harness;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    timers = handTimers(Date.now());
    h = await startHarness({
      policy: ESCALATE_ALL,
      env: { NOTIFY_CHANNELS: JSON.stringify(channelsAt(receiver)), NOTIFY_DIGEST_INTERVAL: '1m' },
      notifyTimers: timers,
    });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  it('is one message per channel right away and one digest per channel when the interval ends', async () => {
    const alerts = Array.from({ length: STORM }, (_, i) =>
      mdeAlert({ dnsName: `ws-${String(i).padStart(4, '0')}.corp.example` }),
    );
    for (let from = 0; from < STORM; from += 1_000) await h.submit(alerts.slice(from, from + 1_000));
    await fireUntil(timers, () => receiver.received.length >= 3);
    expect(receiver.received).toHaveLength(3);
    timers.advance(60_000);
    await fireUntil(timers, () => receiver.received.length >= 6);
    // The first escalation alone, then everything else in one digest: 2 messages per channel.
    expect(receiver.received).toHaveLength(6);

    const teams = receiver.received.filter((r) => r.path.startsWith('/hooks/teams/'));
    const digestCard = JSON.parse(teams[1].body).attachments[0].content;
    expect(Buffer.byteLength(teams[1].body)).toBeLessThanOrEqual(MAX_TEAMS_MESSAGE_BYTES);
    const validCard = new Ajv({ allErrors: true }).compile(CARD_SCHEMA);
    expect(validCard(digestCard)).toBe(true);
    expect(teams[1].body).toContain(`mde-isolator: ${STORM - 1} events`);
    expect(teams[1].body).toMatch(/and \d+ more not listed/);

    const slack = receiver.received.filter((r) => r.path.startsWith('/hooks/slack/'));
    const digest = JSON.parse(slack[1].body) as { text: string; blocks: { text?: { text: string } }[] };
    expect(digest.blocks.length).toBeLessThanOrEqual(MAX_SLACK_BLOCKS);
    for (const block of digest.blocks)
      expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(MAX_SECTION_CHARS);

    const [, hook] = receiver.received.filter((r) => r.path.startsWith('/hooks/webhook/'));
    const payload = new Webhook(SECRET).verify(hook.body, {
      'webhook-id': String(hook.headers['webhook-id']),
      'webhook-timestamp': String(hook.headers['webhook-timestamp']),
      'webhook-signature': String(hook.headers['webhook-signature']),
    }) as { type: string; data: { total: number; counts: unknown[]; more: number } };
    expect(payload.type).toBe('mde-isolator.digest');
    expect(payload.data.total).toBe(STORM - 1);
    expect(payload.data.counts).toEqual([{ kind: 'escalated', count: STORM - 1 }]);
    expect(payload.data.more).toBeGreaterThan(0);
  });
});

describe('a receiver that always fails', () => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  let receiver: WebhookReceiver;
  let timers: HandTimers;
  let h: Harness;
  let channels: ReturnType<typeof channelsAt>;

  beforeAll(async () => {
    timers = handTimers(Date.now());
    receiver = await WebhookReceiver.start(() => timers.now());
    channels = channelsAt(receiver).filter((channel) => channel.kind === 'webhook');
    h = await startHarness({
      policy: TEST_POLICY,
      env: { NOTIFY_CHANNELS: JSON.stringify(channels) },
      notifyTimers: timers,
      meter: provider.getMeter('test'),
    });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
    await provider.shutdown();
  });

  it('leaves the isolation as it was, logs one line without the URL, counts it, and retries as asked', async () => {
    // 503s with Retry-After, then a 500: four attempts in all, then given up.
    receiver.answer(
      { status: 503, headers: { 'retry-after': '7' } },
      { status: 503, headers: { 'retry-after': '7' } },
      { status: 503 },
      { status: 500 },
    );
    const dnsName = h.sim.machines()[0].computerDnsName as string;
    await h.submit([mdeAlert({ dnsName })]);
    await h.settle();
    const machineId = h.machineId(dnsName);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['succeeded']);
    expect(postsOn(h, machineId, 'isolate')).toHaveLength(1);

    const failed = () => h.notes.filter((note) => note.event === 'notification-failed');
    await fireUntil(timers, () => failed().length > 0);
    expect(receiver.received).toHaveLength(4);
    const sentAt = receiver.received.map((r) => r.at);
    // Each wait at least the Retry-After the receiver asked for.
    expect(sentAt[1] - sentAt[0]).toBeGreaterThanOrEqual(7_000);
    expect(sentAt[2] - sentAt[1]).toBeGreaterThanOrEqual(7_000);
    expect(failed()).toEqual([
      {
        level: 'warn',
        event: 'notification-failed',
        channel: 'siem',
        channelKind: 'webhook',
        message: 'isolation-succeeded',
        events: 1,
        attempts: 4,
        status: 500,
        why: 'answered 500',
      },
    ]);

    await reader.forceFlush();
    const [collected] = exporter.getMetrics().slice(-1);
    const counted = collected.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === NOTIFY_METRICS.failed)
      .flatMap((metric) => metric.dataPoints as { value: unknown }[]);
    expect(counted.map((point) => point.value)).toEqual([1]);

    // Neither the URL (nor any part of its path or query) nor the secret is in any log line or record.
    const written = JSON.stringify([h.notes, h.outcomes, await h.runtime.store.register.list()]);
    for (const secret of [channels[0].url, 'T0SECRETPATH', 'url-signature', SECRET, SECRET.slice(6)])
      expect(written).not.toContain(secret);
  });
});
