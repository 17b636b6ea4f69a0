/**
 * The pre-flight check with a stale identity header (a simulator restarted since its settings were
 * exported): its own file, because MSAL keeps the managed identity's settings and tokens per module
 * registry, so no token may exist before this test.
 */
import type { RunningSimulator } from '../../simulator';
import { cliIn } from '../cli/run-cli';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulatorWithIdentity();
});
afterAll(() => sim.close());

it('a stale identity header: one token request, no MDE call, one line naming the header and the fix', async () => {
  const header = process.env.IDENTITY_HEADER;
  process.env.IDENTITY_HEADER = 'stale-from-an-earlier-simulator';
  sim.resetCalls();
  try {
    const { code, stderr } = await cliIn(process.cwd(), {
      ...sim.env(),
      ISOLATION_POLICY: JSON.stringify(TEST_POLICY),
    })('isolate', '--host', 'web1', '--comment', 'x');
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^isolate: pre-flight identity-endpoint-refused: the identity endpoint at IDENTITY_ENDPOINT \(\S+\) refused the token request: IDENTITY_HEADER is stale or wrong; re-export the settings line the simulator printed/,
    );
    // One token request; MDE is never called (the client resends only after an answer from MDE).
    expect(sim.calls().map((c) => `${c.api} ${c.status}`)).toEqual(['token 401']);
  } finally {
    process.env.IDENTITY_HEADER = header;
  }
});
