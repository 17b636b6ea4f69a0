/**
 * The approvals' events on the channels, through the whole runtime (simulator, intake, queue, worker,
 * the approval gate and the notifier), with the runtime's default wiring: a rule that asks for
 * approval puts a Teams card with the approval page's link and the deadline in the channel, and a
 * break-glass isolation puts its card there for review. The runtime's gauge counts the approval
 * pending, read from the store.
 */
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import Ajv from 'ajv';
import { GAUGES } from '../../shared/dispatch/gauges';
import { type Harness, startHarness, TEST_POLICY, until } from '../integration/harness';
import { mdeAlert } from '../support/alert-payloads';
import { fireUntil, type HandTimers, handTimers } from '../support/hand-timers';
import { WebhookReceiver } from '../support/webhook-receiver';
import { CARD_SCHEMA } from './card-schema';

const APP_URL = 'https://isolator.contoso.example/edge';
const POLICY = {
  ...TEST_POLICY,
  rules: [
    {
      name: 'servers-need-approval',
      title: '*needs approval*',
      action: 'isolate',
      approval: { expiresAfter: '30m', onExpiry: 'drop', approvers: 2 },
    },
  ],
};

interface Card {
  body: unknown[];
  actions?: { type: string; title: string; url: string }[];
}

describe('approval events on the channels', () => {
  let receiver: WebhookReceiver;
  let timers: HandTimers;
  let h: Harness;
  const validCard = new Ajv({ allErrors: true }).compile(CARD_SCHEMA);
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported only when the test collects (forceFlush), never on a timer of its own.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const pendingGauge = async () => {
    await reader.forceFlush();
    return (exporter.getMetrics().at(-1)?.scopeMetrics ?? [])
      .flatMap((scope) => scope.metrics)
      .filter((metric) => metric.descriptor.name === GAUGES.approvalsPending)
      .flatMap((metric) => metric.dataPoints.map((point) => point.value));
  };

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    timers = handTimers(Date.now());
    h = await startHarness({
      policy: POLICY,
      env: {
        NOTIFY_CHANNELS: JSON.stringify([
          {
            name: 'soc-teams',
            kind: 'teams',
            url: receiver.url('teams'),
            events: ['approval-pending', 'break-glass'],
          },
        ]),
        APP_PUBLIC_URL: `${APP_URL}/`,
      },
      notifyTimers: timers,
      meter: provider.getMeter('test'),
    });
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
    await provider.shutdown();
  });

  /** The cards the channel received, in order. */
  const cards = (): Card[] => receiver.received.map((r) => JSON.parse(r.body).attachments[0].content as Card);

  it('tells an approval pending with the link to its page and its deadline', async () => {
    const machineId = h.machineId('ws-hr-02.contoso.local');
    expect(await pendingGauge()).toEqual([0]);
    await h.submit(mdeAlert({ machineId }, { title: 'needs approval: credential theft' }));
    // Not idle: the approval's deadline message waits on the queue for its half hour.
    await until(() => h.outcomes.some((o) => o.machineId === machineId), 'the hold');
    const held = h.outcomes.find((o) => o.machineId === machineId);
    expect(held?.outcome).toBe('awaiting-approval');
    const approval = await h.runtime.store.approvals.get(held?.approvalId as string);
    expect(await pendingGauge()).toEqual([1]);
    await fireUntil(timers, () => receiver.received.length >= 1);

    const [card] = cards();
    expect(validCard(card)).toBe(true);
    const text = JSON.stringify(card);
    expect(text).toContain('Approval needed');
    expect(text).toContain(approval?.deadline);
    expect(card.actions).toContainEqual(
      expect.objectContaining({
        type: 'Action.OpenUrl',
        url: `${APP_URL}/api/approvals/${approval?.id}/page`,
      }),
    );
  });

  it('tells a break-glass isolation for review, naming who forced it and why', async () => {
    const before = receiver.received.length;
    const machineId = h.machineId('dc01.contoso.local');
    const order = await h.runtime.submitManual({
      action: 'isolate',
      device: { mdeDeviceId: machineId },
      comment: 'domain admin credentials dumped',
      isolationType: 'Full',
      requestedBy: 'alice@contoso.com',
      overrideReason: 'IR-9: DC is the attacker foothold',
    });
    await until(() => h.outcomes.some((o) => o.requestId === order.requestId), 'the break-glass outcome');
    await fireUntil(timers, () => receiver.received.length > before);

    const card = cards()[before];
    expect(validCard(card)).toBe(true);
    const text = JSON.stringify(card);
    expect(text).toContain('Break-glass isolation (review)');
    expect(text).toContain('alice@contoso.com');
    expect(text).toContain('IR-9: DC is the attacker foothold');
    expect(text).toContain('dc01.contoso.local');
    expect(text).toContain(order.requestId);
  });
});
