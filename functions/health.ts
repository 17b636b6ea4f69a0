import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { SETTINGS } from '../shared/config';
import type { ConfigurationCheck } from '../shared/configuration-check';
import { PRODUCT_VERSION } from '../shared/kernel/version';

/** 503 so probes mark the instance unhealthy. */
const statusOf = (check: ConfigurationCheck) => (check.valid ? 200 : 503);

/**
 * Liveness for probes and deployment scripts. Anonymous, so it says up or down and, when down, which
 * component failed: nothing about the mode, hosts or settings (those are in the keyed view and the
 * logs). The answer comes from the check made once per process, so a probe costs nothing.
 */
/** Loaded on the first probe, not at import: compiling the policy needs the schema validator. */
async function configurationCheck(): Promise<ConfigurationCheck> {
  return (await import('../shared/configuration-check')).checkConfiguration();
}

export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const check = await configurationCheck();
  return {
    status: statusOf(check),
    jsonBody: check.valid
      ? { status: 'ok', components: { settings: 'ok', policy: 'ok' } }
      : {
          status: 'misconfigured',
          components:
            check.component === 'settings'
              ? { settings: 'invalid', policy: 'not checked' }
              : { settings: 'ok', policy: 'invalid' },
        },
  };
}

/**
 * The same check for operators holding a function key: version, cloud, API host, effective mode, and
 * the names of the settings to fix (never their values, identity ids or policy content).
 */
export async function healthDetails(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const check = await configurationCheck();
  if (!check.valid)
    return {
      status: statusOf(check),
      jsonBody: {
        status: 'misconfigured',
        version: PRODUCT_VERSION,
        configValid: false,
        component: check.component,
        invalidSettings: check.invalidSettings,
      },
    };
  const { config, policy } = check;
  return {
    status: statusOf(check),
    jsonBody: {
      status: 'ok',
      version: PRODUCT_VERSION,
      cloud: config.cloud,
      apiHost: new URL(config.apiBaseUrl).host,
      mode: policy.mode,
      modeFrom: config.modeOverride ? SETTINGS.mode : 'policy',
      queue: config.serviceBusNamespace ? 'service-bus' : 'inline',
      configValid: true,
    },
  };
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
app.http('healthDetails', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health/details',
  handler: healthDetails,
});
