/**
 * The pre-flight check against an API that refuses the token's audience (a tenant in another cloud
 * than MDE_CLOUD says): MDE answers 403, and the CLI blames the cloud, not a permission. Its own file:
 * MSAL keeps managed identity tokens per module registry.
 */
import type { RunningSimulator } from '../../simulator';
import { cliIn } from '../cli/run-cli';
import { startSimulatorWithIdentity } from '../support/simulator';
import { TEST_POLICY } from './harness';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulatorWithIdentity({
    acceptedAudiences: ['https://api-gcc.securitycenter.microsoft.us'],
  });
});
afterAll(() => sim.close());

it('a token for another cloud: one lookup, named as the cloud, not as a missing permission', async () => {
  sim.resetCalls();
  const cli = cliIn(process.cwd(), { ...sim.env(), ISOLATION_POLICY: JSON.stringify(TEST_POLICY) });
  const { code, stderr } = await cli('isolate', '--host', 'web1', '--comment', 'x');
  expect(code).toBe(1);
  expect(stderr.split('\n')[1]).toMatch(
    /^isolate: pre-flight wrong-audience: MDE at \S+ refused the token \(403\) without naming a permission: the token is for another API; check that MDE_CLOUD \(commercial\) is your tenant's cloud/,
  );
  expect(stderr).not.toMatch(/Machine\.Read|permission Machine/);
  expect(sim.calls().map((c) => `${c.api} ${c.status}`)).toEqual(['token 200', 'machines 403']);
});
