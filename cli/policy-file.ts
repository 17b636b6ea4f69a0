/** `--policy FILE` of the CLI verbs: a file that cannot be read is named as such, not as a Node error. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PolicyMode } from '../shared/config';
import { loadPolicy } from '../shared/policy/load';
import type { IsolationPolicy } from '../shared/policy/types';
import type { CliIo } from './context';

export class PolicyFileError extends Error {}

/** Reads, validates and compiles a policy file; throws PolicyFileError or PolicyError, one message each. */
export function loadPolicyFile(io: CliIo, path: string, modeOverride: PolicyMode | null): IsolationPolicy {
  const fullPath = resolve(io.cwd, path);
  let text: string;
  try {
    text = readFileSync(fullPath, 'utf8');
  } catch (error) {
    throw new PolicyFileError(
      `cannot read policy file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return loadPolicy({ kind: 'file', path: fullPath, text }, modeOverride);
}
