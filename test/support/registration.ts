/** The functions as the host registers them: HTTP routes, and Service Bus triggers through a spy per test. */
import { app } from '@azure/functions';
import type { HttpFunction } from '../../simulator/dev-host';

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

/** Every HTTP function the files in functions/ register, as the host would see them. */
export function registeredHttpFunctions(): HttpFunction[] {
  let registered: HttpFunction[] = [];
  // A fresh module registry, so every function file registers again with its own @azure/functions.
  jest.isolateModules(() => {
    registered = (
      require('../../simulator/dev-host') as typeof import('../../simulator/dev-host')
    ).loadHttpFunctions();
  });
  return registered;
}
