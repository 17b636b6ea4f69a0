/**
 * Startup entry of the policy: parse, validate, compile. A bad policy throws one PolicyError naming
 * every problem, so the app refuses to start rather than isolate under a policy nobody meant.
 */
import type { PolicyMode, PolicySource } from '../config';
import defaultPolicy from './default-policy.json';
import { createPolicy } from './engine';
import type { IsolationPolicy } from './types';
import { PolicyError, validatePolicy } from './validate';

export function policyOrigin(source: PolicySource): string {
  if (source.kind === 'file') return source.path;
  return source.kind === 'inline' ? 'inline ISOLATION_POLICY' : 'shipped default policy';
}

/** Parses policy JSON, reporting a syntax error as a PolicyError like any other problem. */
export function parsePolicyText(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // Node's parser message can span lines (it quotes the offending text); one problem is one line.
    const reason = (error as Error).message.replace(/\s+/g, ' ').trim();
    throw new PolicyError([{ path: '', message: `not valid JSON: ${reason}` }], origin);
  }
}

export function loadPolicy(source: PolicySource, modeOverride: PolicyMode | null): IsolationPolicy {
  const origin = policyOrigin(source);
  const document = source.kind === 'default' ? defaultPolicy : parsePolicyText(source.text, origin);
  const result = validatePolicy(document);
  if (!result.valid) throw new PolicyError(result.errors, origin);
  return createPolicy(result.policy, modeOverride);
}
