/** For tests of Service Bus trigger registration: the host's registry replaced by a spy, per test. */
import { app } from '@azure/functions';

export const NAMESPACE = {
  ServiceBusConnection__fullyQualifiedNamespace: 'mdeiso-test.servicebus.windows.net',
};

/** The spy on `app.serviceBusQueue` of the current test; console.error is silenced (invalid settings log). */
export function useServiceBusRegistrationSpy(): () => jest.SpyInstance {
  let registered: jest.SpyInstance | null = null;
  beforeEach(() => {
    registered = jest.spyOn(app, 'serviceBusQueue').mockImplementation(() => undefined);
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());
  return () => {
    if (!registered) throw new Error('no test is running');
    return registered;
  };
}
