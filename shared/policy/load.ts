/**
 * Startup entry of the policy: read (parse and validate, read.ts), then compile. A bad policy throws
 * one PolicyError naming every problem, so the app refuses to start rather than isolate under a
 * policy nobody meant.
 */
import type { PolicySource } from '../config';
import type { ManualMode, PolicyMode } from '../kernel/vocabulary';
import { createPolicy } from './engine';
import { readPolicy } from './read';
import type { IsolationPolicy } from './types';

export function loadPolicy(
  source: PolicySource,
  modeOverride: PolicyMode | null,
  manualMode: ManualMode = 'follow',
): IsolationPolicy {
  return createPolicy(readPolicy(source), modeOverride, manualMode);
}
