import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { ConfigError, loadConfig, SETTINGS } from '../shared/config';
import { loadPolicy } from '../shared/policy/load';
import { PolicyError } from '../shared/policy/validate';
import { PRODUCT_VERSION } from '../shared/version';

/**
 * Liveness and configuration check for operators and deployment scripts. Anonymous on purpose, so it
 * says nothing secret: no identity ids, no policy content, no namespace.
 */
export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const config = loadConfig();
    const policy = loadPolicy(config.policySource, config.modeOverride);
    return {
      status: 200,
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
  } catch (error) {
    if (error instanceof PolicyError) return misconfigured([SETTINGS.policy]);
    if (!(error instanceof ConfigError)) throw error;
    return misconfigured(error.problems.map((p) => p.setting));
  }
}

/** 503 so probes mark the instance unhealthy; setting names are safe to show, values are not. */
function misconfigured(invalidSettings: string[]): HttpResponseInit {
  return {
    status: 503,
    jsonBody: { status: 'misconfigured', version: PRODUCT_VERSION, configValid: false, invalidSettings },
  };
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
