/**
 * The policy a tenant's alerts are decided by (docs/decisions/0032-tenant-policy-override.md): the
 * deployment's, or its merge with the tenant's override (policy-document.ts), compiled as loadPolicy
 * compiles the deployment's. The composition root builds one per tenant at start.
 */
import { type AppConfig, ConfigError, SETTINGS } from '../config';
import type { ManualMode, PolicyMode } from '../kernel/vocabulary';
import type { PolicyDocument } from '../policy/document';
import { createPolicy } from '../policy/engine';
import { readPolicy } from '../policy/read';
import type { IsolationPolicy } from '../policy/types';
import { readTenantPolicy } from './policy-document';
import type { Tenant } from './tenant';

/** The deployment's policy as loadPolicy builds it: its validated document and the two mode settings. */
export interface DeploymentPolicy {
  document: PolicyDocument;
  /** ISOLATION_MODE. */
  modeOverride: PolicyMode | null;
  /** MANUAL_ISOLATION_MODE. */
  manualMode: ManualMode;
}

/** The deployment's policy read once from the settings, for every tenant's to start from. */
export function deploymentPolicy(
  config: Pick<AppConfig, 'policySource' | 'modeOverride' | 'manualMode'>,
): DeploymentPolicy {
  return {
    document: readPolicy(config.policySource),
    modeOverride: config.modeOverride,
    manualMode: config.manualMode,
  };
}

/**
 * The deployment's own policy without an override; else the merged document, held in dry run when the
 * override says so. Throws a ConfigError naming every problem, which the configuration check
 * (tenantPolicyProblems) has already refused at start.
 */
export function policyForTenant(
  deployment: DeploymentPolicy,
  tenant: Pick<Tenant, 'displayName' | 'policyOverride'>,
): IsolationPolicy {
  const { document, modeOverride, manualMode } = deployment;
  const override = tenant.policyOverride;
  if (override === null) return createPolicy(document, modeOverride, manualMode);
  const reading = readTenantPolicy(document, override, `"${tenant.displayName}"`);
  if (!reading.valid)
    throw new ConfigError(reading.problems.map((message) => ({ setting: SETTINGS.tenants, message })));
  return createPolicy(reading.document, override.mode === 'dry-run' ? 'dry-run' : modeOverride, manualMode);
}
