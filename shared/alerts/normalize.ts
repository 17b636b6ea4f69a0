/** Value normalizations shared by every parser, so one vocabulary reaches the policy. */
import { stringList, unique } from './fields';
import type { Severity } from './model';

// A Map, not an object literal: a severity of "constructor" or "__proto__" must not find Object.prototype.
const SEVERITY_WORDS = new Map<string, Severity>([
  ['critical', 'high'],
  ['high', 'high'],
  ['sev0', 'high'],
  ['sev1', 'high'],
  ['medium', 'medium'],
  ['sev2', 'medium'],
  ['low', 'low'],
  ['sev3', 'low'],
  ['informational', 'informational'],
  ['sev4', 'informational'],
]);

/**
 * Azure Monitor's Sev0..Sev4 map order-preserving (Sev3 low, project decision in samples/EXPECTED.md).
 * Anything unknown, missing or `UnSpecified` becomes informational: the model has no "unknown" level
 * (docs/alert-schemas.md §6.4 asks for one), and the least severe level, which the shipped policy never isolates,
 * is the safe reading of "we do not know".
 */
export function normalizeSeverity(value: unknown): Severity {
  if (typeof value !== 'string') return 'informational';
  return SEVERITY_WORDS.get(value.trim().toLowerCase()) ?? 'informational';
}

const CLOSED_STATUSES = new Set(['resolved', 'closed', 'dismissed']);

/** Firing unless the status says it ended. Update events of open incidents still fire (dedupe stops repeats). */
export function isFiringStatus(status: unknown): boolean {
  return !(typeof status === 'string' && CLOSED_STATUSES.has(status.trim().toLowerCase()));
}

const TECHNIQUE_ID = /\bT\d{4}(?:\.\d{3})?\b/g;

/**
 * XDR `AttackTechniques` holds names such as "PowerShell (T1059.001)"; other sources give bare ids.
 * Keep the ids when a value names them, the value itself otherwise.
 */
export function mitreTechniques(...sources: unknown[]): string[] {
  const out = new Set<string>();
  for (const source of sources) {
    for (const item of stringList(source)) {
      for (const id of item.match(TECHNIQUE_ID) ?? [item]) out.add(id);
    }
  }
  return [...out];
}

export function categories(...sources: unknown[]): string[] {
  return unique(sources.flatMap((source) => stringList(source)));
}
