/**
 * Requests always fit a Service Bus Standard message: an alert with a huge title and lists is still
 * queued and its device isolated. The in-process queue refuses what Service Bus would, so this test
 * would see a request that does not fit.
 */
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, startHarness } from './harness';

const DOMAIN = 'contoso.local';

describe('request size', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('queues and isolates the device of an alert whose title and lists are far over 256 KB', async () => {
    const machine = h.machineId(`web10.${DOMAIN}`);
    const alert = {
      ...mdeAlert({ dnsName: `web10.${DOMAIN}` }),
      title: `Ransomware ${'x'.repeat(300_000)}`,
      mitreTechniques: Array.from(
        { length: 5_000 },
        (_, i) => `T${1000 + (i % 9000)}.${String(i).padStart(3, '0')}`,
      ),
    };
    const result = await h.submit(alert);
    expect(result.failed).toBe(0);
    await h.settle();
    expect(h.actionsOn(machine, 'Isolate')).toHaveLength(1);
    expect(h.outcomes).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
  });
});
