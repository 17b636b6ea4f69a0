/**
 * Whether this process's settings and policy are usable, decided once: health answers from it on
 * every probe (validating a large policy per anonymous call would let anyone burn the CPU), and the
 * Service Bus triggers are only registered when it holds. Why it failed goes to the log, once;
 * callers tell the world at most which component failed. The policy is validated, not compiled: the
 * triggers decide while the host imports them, and compiling a validated policy only builds matchers
 * from patterns validation has already compiled, so the engine can wait for the first message
 * (docs/architecture.md §8).
 */
import { type AppConfig, ConfigError, loadConfig, SETTINGS } from './config';
import { writeRecord } from './kernel/invocation-log';
import type { PolicyMode } from './kernel/vocabulary';
import { readNotifySettings } from './notify/settings';
import { effectiveMode } from './policy/document';
import { readPolicy } from './policy/read';
import { PolicyError } from './policy/validate';
import { tenantPolicyProblems } from './tenants/policy-document';

/** The parts of a deployment health reports on; settings first, since the policy is read through one. */
export type ConfigurationComponent = 'settings' | 'policy';

export type ConfigurationCheck =
  | { valid: true; config: AppConfig; mode: PolicyMode }
  | {
      valid: false;
      component: ConfigurationComponent;
      /** The settings to fix, by name (never their values). */
      invalidSettings: string[];
    };

type Env = Readonly<Record<string, string | undefined>>;

let last: { key: string; check: ConfigurationCheck } | null = null;

/** The settings the check depends on; the same values give the same answer. */
function keyOf(env: Env): string {
  return JSON.stringify(Object.values(SETTINGS).map((name) => env[name] ?? null));
}

function evaluate(env: Env): ConfigurationCheck {
  try {
    const config = loadConfig(env);
    readNotifySettings(env, config.cloud);
    const document = readPolicy(config.policySource);
    // Each tenant's policy is the deployment's with its override: checked once the deployment's holds.
    const tenantProblems = tenantPolicyProblems(document, config.tenants ?? []);
    if (tenantProblems.length > 0) throw new ConfigError(tenantProblems);
    return { valid: true, config, mode: effectiveMode(document, config.modeOverride) };
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyError)) throw error;
    const component: ConfigurationComponent = error instanceof ConfigError ? 'settings' : 'policy';
    // The only place the details go: they may quote setting values and policy paths.
    writeRecord('error', {
      level: 'error',
      event: 'configuration-invalid',
      component,
      details: error.message,
    });
    return {
      valid: false,
      component,
      invalidSettings:
        error instanceof ConfigError ? error.problems.map((p) => p.setting) : [SETTINGS.policy],
    };
  }
}

/** The check for `env`, computed on first use and reused while the settings stay the same. */
export function checkConfiguration(env: Env = process.env): ConfigurationCheck {
  const key = keyOf(env);
  if (last?.key !== key) last = { key, check: evaluate(env) };
  return last.check;
}
