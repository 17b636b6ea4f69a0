import type { DispatchReporter, OutcomeRecord } from '../../shared/dispatch/outcome';
import { OutcomeFeed } from '../../shared/dispatch/outcome-feed';

const record = (requestId: string, outcome: OutcomeRecord['outcome'] = 'skipped') =>
  ({ event: 'isolation-outcome', requestId, outcome, reason: `${requestId} ${outcome}` }) as OutcomeRecord;

function recording(): DispatchReporter & { seen: OutcomeRecord[] } {
  const seen: OutcomeRecord[] = [];
  return { seen, outcome: (r) => seen.push(r), note: () => undefined };
}

describe('OutcomeFeed', () => {
  it('hands a watch the record of its request, reported before or after it knew the id', async () => {
    const feed = new OutcomeFeed();
    const base = recording();
    const reporter = feed.reporting(base);
    const watch = feed.watch();
    // A coalesced request ends while it is submitted, before its caller learns its id.
    reporter.outcome(record('other'));
    reporter.outcome(record('mine', 'coalesced'));
    expect(await watch.of('mine')).toMatchObject({ requestId: 'mine', outcome: 'coalesced' });

    const later = feed.watch();
    const pending = later.of('next');
    reporter.outcome(record('not-it'));
    reporter.outcome(record('next', 'escalated'));
    expect(await pending).toMatchObject({ requestId: 'next', outcome: 'escalated' });
    expect(base.seen.map((r) => r.requestId)).toEqual(['other', 'mine', 'not-it', 'next']);
    watch.stop();
    later.stop();
  });

  it('sees nothing reported before it began or after it stopped', async () => {
    const feed = new OutcomeFeed();
    const reporter = feed.reporting(recording());
    reporter.outcome(record('before'));
    const watch = feed.watch();
    const before = watch.of('before');
    watch.stop();
    reporter.outcome(record('before'));
    const settled = await Promise.race([before.then(() => 'settled'), Promise.resolve('pending')]);
    expect(settled).toBe('pending');
  });
});
