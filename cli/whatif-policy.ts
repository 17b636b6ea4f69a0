/** The policy a `whatif` evaluates, and the line that names it; ISOLATION_MODE applies as in the app. */
import { ConfigError, loadConfig } from '../shared/config';
import { errorMessage } from '../shared/kernel/errors';
import { loadPolicy } from '../shared/policy/load';
import type { IsolationPolicy } from '../shared/policy/types';
import type { CliIo } from './context';
import { modeWord, policyOrigin } from './mode';
import { loadPolicyFile } from './policy-file';

export interface PolicyRead {
  policy: IsolationPolicy;
  /** `policy VERSION (where from), MODE; nothing is posted`. */
  line: string;
}

/**
 * The policy file at `path` (given with `flag`), else ISOLATION_POLICY, else the shipped default; a
 * string says why it cannot be had.
 */
export function readPolicy(path: string | undefined, io: CliIo, flag = '--policy'): PolicyRead | string {
  try {
    const config = loadConfig(io.env);
    const policy = path
      ? loadPolicyFile(io, path, config.modeOverride)
      : loadPolicy(config.policySource, config.modeOverride);
    const origin = path ? `${flag} ${path}` : policyOrigin(undefined, config.policySource);
    return {
      policy,
      line: `policy ${policy.version} (${origin}), ${modeWord(policy.mode)}; nothing is posted`,
    };
  } catch (error) {
    return error instanceof ConfigError ? error.message : errorMessage(error);
  }
}
