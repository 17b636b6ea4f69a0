/** `--policy FILE` of the CLI verbs: a file that cannot be read is named as such, not as a Node error. */
import { resolve } from 'node:path';
import { MAX_POLICY_FILE_BYTES } from '../shared/config';
import { readTextFile, TextFileError } from '../shared/kernel/text-file';
import type { PolicyMode } from '../shared/kernel/vocabulary';
import { loadPolicy } from '../shared/policy/load';
import type { IsolationPolicy } from '../shared/policy/types';
import type { CliIo } from './context';

export class PolicyFileError extends Error {}

/** Reads, validates and compiles a policy file; throws PolicyFileError or PolicyError, one message each. */
export function loadPolicyFile(io: CliIo, path: string, modeOverride: PolicyMode | null): IsolationPolicy {
  const fullPath = resolve(io.cwd, path);
  let text: string;
  try {
    text = readTextFile(fullPath, MAX_POLICY_FILE_BYTES);
  } catch (error) {
    if (!(error instanceof TextFileError)) throw error;
    throw new PolicyFileError(`cannot read policy file ${path} (${error.reason})`);
  }
  return loadPolicy({ kind: 'file', path: fullPath, text }, modeOverride);
}
