import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { ConfigError, loadConfig } from '../shared/config';
import { PRODUCT_VERSION } from '../shared/version';

/**
 * Liveness and configuration check for operators and deployment scripts. Anonymous on purpose, so it
 * says nothing secret: no identity ids, no policy content, no namespace.
 */
export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const config = loadConfig();
    return {
      status: 200,
      jsonBody: {
        status: 'ok',
        version: PRODUCT_VERSION,
        cloud: config.cloud,
        apiHost: new URL(config.apiBaseUrl).host,
        mode: config.modeOverride ?? 'policy',
        queue: config.serviceBusNamespace ? 'service-bus' : 'inline',
        configValid: true,
      },
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // 503 so probes mark the instance unhealthy; setting names are safe to show, values are not.
    return {
      status: 503,
      jsonBody: {
        status: 'misconfigured',
        version: PRODUCT_VERSION,
        configValid: false,
        invalidSettings: error.problems.map((p) => p.setting),
      },
    };
  }
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
