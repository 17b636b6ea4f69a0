/** The functions as the host registers them: HTTP routes, and Service Bus triggers through a spy per test. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { app, type HttpFunctionOptions } from '@azure/functions';

const FUNCTIONS_DIR = join(__dirname, '..', '..', 'functions');

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
export function registeredHttpFunctions(): Array<{ name: string } & HttpFunctionOptions> {
  const registered: Array<{ name: string } & HttpFunctionOptions> = [];
  // A fresh module registry, so every function file registers again; its own @azure/functions is spied on.
  jest.isolateModules(() => {
    const fresh = require('@azure/functions') as { app: typeof app };
    const spy = jest.spyOn(fresh.app, 'http').mockImplementation((name, options) => {
      registered.push({ name, ...options });
    });
    try {
      for (const file of readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith('.ts')))
        require(join(FUNCTIONS_DIR, file));
    } finally {
      spy.mockRestore();
    }
  });
  return registered;
}
