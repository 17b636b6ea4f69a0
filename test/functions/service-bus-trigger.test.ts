import { NAMESPACE } from '../support/registration';

type Gate = typeof import('../../functions/service-bus-trigger');

/** The gate from a fresh module registry, so nothing an earlier test loaded counts. */
function freshGate(): Gate {
  let gate: Gate | undefined;
  jest.isolateModules(() => {
    gate = require('../../functions/service-bus-trigger') as Gate;
  });
  return gate as Gate;
}

describe('Service Bus trigger gate', () => {
  beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
  afterEach(() => {
    jest.restoreAllMocks();
    jest.dontMock('../../shared/policy/engine');
  });

  it('checks the policy without loading the engine, which waits for the first message', () => {
    // The host imports the trigger files on every cold start (docs/architecture.md §8).
    jest.doMock('../../shared/policy/engine', () => {
      throw new Error('the policy engine was loaded to decide registration');
    });
    expect(freshGate().serviceBusTriggerAllowed(NAMESPACE)).toBe(true);
  });

  it('still refuses a policy whose only problem is one the schema cannot see', () => {
    const policy = {
      version: 'v',
      mode: 'enforce',
      rules: [{ name: 'bad-glob', hostnames: ['ws-[0-9'], action: 'isolate' }],
    };
    expect(
      freshGate().serviceBusTriggerAllowed({ ...NAMESPACE, ISOLATION_POLICY: JSON.stringify(policy) }),
    ).toBe(false);
  });
});
