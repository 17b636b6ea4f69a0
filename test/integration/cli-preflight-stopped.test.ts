/**
 * The pre-flight check with the simulator stopped after its settings were exported: the API and the
 * identity endpoint both refuse connections. The command names MDE_API_URL before asking for any
 * token, instead of blaming IDENTITY_HEADER once the sign-in library's retries ran out. Its own file:
 * MSAL keeps the managed identity's settings and tokens per module registry, so no token may exist.
 */
import { runManualOrder } from '../../cli/isolate';
import type { MdeApi } from '../../shared/mde/api';
import { startSimulator } from '../../simulator';
import { pointIdentityAt } from '../support/identity';
import { TEST_POLICY } from './harness';

it('a stopped simulator: connection refused at MDE_API_URL, with no MDE call and no token asked', async () => {
  const sim = await startSimulator();
  const settings = sim.env();
  await sim.close();
  const restoreIdentity = pointIdentityAt({ env: () => settings });
  try {
    const counted: string[] = [];
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      cwd: process.cwd(),
      env: { ...settings, ISOLATION_POLICY: JSON.stringify(TEST_POLICY) },
    };
    const count = (api: MdeApi): MdeApi =>
      new Proxy(api, {
        get: (target, key, receiver) => {
          const member = Reflect.get(target, key, receiver);
          if (typeof member !== 'function') return member;
          return (...args: unknown[]) => {
            counted.push(String(key));
            return member.apply(target, args);
          };
        },
      });
    const code = await runManualOrder('isolate', { host: 'web1', comment: 'x', json: true }, io, {
      decorateApi: count,
    });
    expect(code).toBe(1);
    const message = `connection refused at MDE_API_URL (${settings.MDE_API_URL}): nothing listens there; start the simulator or fix MDE_API_URL / MDE_CLOUD`;
    expect(stderr.trim().split('\n').at(-1)).toBe(`isolate: pre-flight connection-refused: ${message}`);
    expect(JSON.parse(stdout)).toEqual({
      error: { stage: 'pre-flight', kind: 'connection-refused', message },
    });
    // No MDE call, hence no token request: the refused connection is found before either.
    expect(counted).toEqual([]);
  } finally {
    restoreIdentity();
  }
});
