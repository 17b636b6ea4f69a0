import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { SETTINGS } from '../shared/config';
import type { ConfigurationCheck } from '../shared/configuration-check';
import type { TenantHealth } from '../shared/runtime';
import type { Tenant } from '../shared/tenants/tenant';

type StoreComponent = 'ok' | 'down' | 'not checked';

/**
 * The state store's answer, loaded on the first probe rather than at import (docs/architecture.md
 * §8). The store's settings are read when the runtime is made: a bad one counts as the store down
 * here (health details and the log say which).
 */
async function storeComponent(check: ConfigurationCheck): Promise<StoreComponent> {
  if (!check.valid) return 'not checked';
  try {
    return (await (await import('../shared/runtime')).getRuntime().storeAnswers()) ? 'ok' : 'down';
  } catch {
    return 'down';
  }
}

/**
 * Each listed tenant as the keyed view shows it (docs/decisions/0035-a-deployment-wide-isolation-cap.md):
 * who, where its API is, its breaker and whether its store answers; never its tokens, client ids or
 * policy. With the runtime unmade (its store settings refused), every tenant's store counts as down.
 */
async function tenantComponents(tenants: readonly Tenant[]) {
  let states: readonly TenantHealth[] = [];
  try {
    states = await (await import('../shared/runtime')).getRuntime().tenantHealth();
  } catch {
    // Every tenant below is down: the same as the deployment's store in this case.
  }
  return tenants.map((tenant) => {
    const state = states.find((s) => s.tenantId === tenant.tenantId);
    return {
      tenantId: tenant.tenantId,
      displayName: tenant.displayName,
      cloud: tenant.cloud,
      apiHost: new URL(tenant.apiBaseUrl).host,
      breaker: state?.breaker ?? 'unknown',
      store: state?.store ?? 'down',
    };
  });
}

/** Loaded on the first probe, not at import: validating the policy needs the schema validator. */
async function configurationCheck(): Promise<ConfigurationCheck> {
  return (await import('../shared/configuration-check')).checkConfiguration();
}

/** 503 so probes mark the instance unhealthy. */
const statusOf = (check: ConfigurationCheck, store: StoreComponent) =>
  check.valid && store === 'ok' ? 200 : 503;

function components(check: ConfigurationCheck, store: StoreComponent) {
  if (check.valid) return { settings: 'ok', policy: 'ok', store };
  return check.component === 'settings'
    ? { settings: 'invalid', policy: 'not checked', store }
    : { settings: 'ok', policy: 'invalid', store };
}

/**
 * Liveness for probes and deployment scripts. Anonymous, so it says up or down and, when down, which
 * component failed: nothing about the mode, hosts or settings (those are in the keyed view and the
 * logs). The configuration check is made once per process and the store's answer kept a few
 * seconds, so a probe costs next to nothing.
 */
export async function health(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const check = await configurationCheck();
  const store = await storeComponent(check);
  const status = !check.valid ? 'misconfigured' : store === 'ok' ? 'ok' : 'store-unavailable';
  return { status: statusOf(check, store), jsonBody: { status, components: components(check, store) } };
}

/**
 * The same check for operators holding a function key: version, cloud, API host, effective mode, and
 * the names of the settings to fix (never their values, identity ids or policy content); with a tenant
 * list, each tenant's id, name, cloud, API host, breaker and store.
 */
export async function healthDetails(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const check = await configurationCheck();
  const store = await storeComponent(check);
  // Read on the first keyed probe, not at import: it parses package.json (docs/architecture.md §8).
  const { PRODUCT_VERSION } = await import('../shared/kernel/version');
  if (!check.valid)
    return {
      status: statusOf(check, store),
      jsonBody: {
        status: 'misconfigured',
        version: PRODUCT_VERSION,
        configValid: false,
        component: check.component,
        invalidSettings: check.invalidSettings,
      },
    };
  const { config, mode } = check;
  return {
    status: statusOf(check, store),
    jsonBody: {
      status: store === 'ok' ? 'ok' : 'store-unavailable',
      version: PRODUCT_VERSION,
      cloud: config.cloud,
      apiHost: new URL(config.apiBaseUrl).host,
      mode,
      modeFrom: config.modeOverride ? SETTINGS.mode : 'policy',
      manualMode: config.manualMode,
      queue: config.serviceBusNamespace ? 'service-bus' : 'inline',
      store,
      configValid: true,
      ...(config.tenants && { tenants: await tenantComponents(config.tenants) }),
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
