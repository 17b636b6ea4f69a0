/**
 * `mde-isolator replay` on records the worker really dead-lettered, and the CLI's answer to an
 * identity MDE keeps refusing: one line, at once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetterRecord } from '../../shared/dispatch/transport/queue';
import { cliIn } from '../cli/run-cli';
import { mdeAlert } from '../support/alert-payloads';
import { type Harness, RATE_LIMITS, startHarness, TEST_POLICY } from './harness';

let h: Harness;
let dir: string;
let cli: ReturnType<typeof cliIn>;

beforeAll(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'mde-isolator-replay-'));
  cli = cliIn(dir, {
    ...h.sim.env(),
    ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    MDE_RATE_LIMITS: RATE_LIMITS,
  });
});
afterAll(() => h.close());
afterEach(() => {
  h.sim.setFaults({});
  h.sim.refuseTokens(false);
});

/** Dead-letter records of isolations that failed on every attempt (MDE answered 503 to each POST). */
async function deadLettered(machineIds: string[]): Promise<DeadLetterRecord[]> {
  h.sim.setFaults({ serverErrorRate: 1, apis: ['isolate'] });
  const before = h.runtime.inline?.deadLetters.length ?? 0;
  await h.submit(machineIds.map((machineId) => mdeAlert({ machineId })));
  await h.settle();
  h.sim.setFaults({});
  const records = h.runtime.inline?.deadLetters.slice(before) ?? [];
  expect(records).toHaveLength(machineIds.length);
  return records;
}

it('replays dead-letter records from JSON lines, as queued and as logged, isolating each device once', async () => {
  const finance = h.machineId('ws-finance-01.contoso.local');
  const web = h.machineId('web1.contoso.local');
  const [first, second] = await deadLettered([finance, web]);
  expect(first).toMatchObject({ reason: 'RetriesExhausted' });
  // The first as the queue holds it, the second as the worker logged it (one JSON line with its level).
  writeFileSync(
    join(dir, 'dead-letters.jsonl'),
    `${JSON.stringify(first)}\n\n${JSON.stringify({ level: 'error', ...second })}\n`,
  );

  const { code, stdout, stderr } = await cli(
    'replay',
    '--time-scale',
    '0.001',
    '--json',
    'dead-letters.jsonl',
  );
  // The header line, then each action id as it is posted, nothing else. The two records replay
  // concurrently, so their lines come in either order.
  const [header, ...posted] = stderr.trim().split('\n');
  expect(header).toMatch(/^ENFORCE \(from the policy\); policy integration-1/);
  expect(posted).toHaveLength(2);
  expect(posted).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^posted Isolate action [0-9a-f-]{36} on web1\.contoso\.local/),
      expect.stringMatching(/^posted Isolate action [0-9a-f-]{36} on ws-finance-01\.contoso\.local/),
    ]),
  );
  expect(code).toBe(0);
  const { outcomes } = JSON.parse(stdout);
  const requestIds = [first, second].map((r) => (r.request as { requestId: string }).requestId);
  expect(outcomes.map((o: { requestId: string }) => o.requestId).sort()).toEqual([...requestIds].sort());
  expect(outcomes.every((o: { outcome: string }) => o.outcome === 'succeeded')).toBe(true);
  for (const machineId of [finance, web]) {
    expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(1);
    expect(h.sim.machineState(machineId)?.isolated).toBe(true);
  }
});

it('posts nothing with --dry-run, even for a request decided in enforce mode', async () => {
  const machineId = h.machineId('ws-hr-02.contoso.local');
  const [record] = await deadLettered([machineId]);
  expect(record.request).toMatchObject({ mode: 'enforce' });
  writeFileSync(join(dir, 'one.json'), JSON.stringify(record));
  const { code, stdout } = await cli('replay', '--dry-run', '--time-scale', '0.001', '--json', 'one.json');
  expect(code).toBe(0);
  expect(JSON.parse(stdout).outcomes).toEqual([expect.objectContaining({ outcome: 'dry-run' })]);
  expect(h.actionsOn(machineId, 'Isolate')).toHaveLength(0);
});

it('reports records it cannot replay, one line each, and exits 2', async () => {
  writeFileSync(
    join(dir, 'mixed.json'),
    JSON.stringify([
      { event: 'isolation-dead-letter', reason: 'InvalidMessage', request: { action: 'wipe' } },
      { hello: 'world' },
    ]),
  );
  const { code, stderr } = await cli('replay', 'mixed.json');
  expect(code).toBe(2);
  expect(stderr.trim().split('\n')).toEqual([
    'mixed.json: record 1: its request cannot be replayed: action is not isolate, release or track',
    'mixed.json: record 2: not a dead-letter record (an object with "event": "isolation-dead-letter")',
    'replay: no dead-letter record to replay',
  ]);
});

it('ends a command at once with one line when MDE keeps refusing the identity (401)', async () => {
  h.sim.refuseTokens(true);
  h.sim.resetCalls();
  // No --time-scale: the worker's backoff alone would outlast the test.
  const { code, stdout, stderr } = await cli('isolate', '--host', 'mac-design-01', '--comment', 'IR-7');
  expect(code).toBe(1);
  // The pre-flight lookup meets the refusal: one line after the header, before any work.
  expect(stderr.split('\n')[1]).toMatch(
    /^isolate: pre-flight token-rejected: MDE at \S+ refused the token \(401\), also one fetched anew: .*MDE_CLOUD/,
  );
  expect(stderr.split('\n')).toHaveLength(3);
  expect(stdout).toBe('');
  // One lookup, its resend with a token fetched anew, and nothing after.
  expect(h.sim.calls().map((c) => `${c.api} ${c.status}`)).toEqual([
    'machines 401',
    'token 200',
    'machines 401',
  ]);
});
