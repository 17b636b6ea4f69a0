import type { NormalizedAlert } from '../../shared/alerts/model';
import { isParsed, parseAlertPayload } from '../../shared/alerts/parse';
import { fixture } from '../fixtures';

/** Parses a body that must yield alerts only; fails the test with the problems otherwise. */
export function alertsOf(body: unknown): NormalizedAlert[] {
  const outcomes = parseAlertPayload(body);
  const problems = outcomes.filter((o) => !isParsed(o));
  if (problems.length > 0) throw new Error(`unexpected problems: ${JSON.stringify(problems)}`);
  return outcomes.filter(isParsed).map((o) => o.alert);
}

export function onlyAlertOf(body: unknown): NormalizedAlert {
  const alerts = alertsOf(body);
  expect(alerts).toHaveLength(1);
  return alerts[0];
}

export function fixtureAlert(name: string): NormalizedAlert {
  return onlyAlertOf(fixture(name));
}

/** The incident trigger as tests reshape it. */
export interface IncidentBody {
  object: { properties: Record<string, unknown> };
}

/** The common alert schema as tests reshape it. */
export interface AzureMonitorBody {
  data: {
    essentials: Record<string, unknown>;
    alertContext: { condition: { allOf: Array<Record<string, unknown>> } };
  };
}

/** A deep copy to mutate without touching the cached fixture. */
export function copyOf<T>(name: string): T {
  return structuredClone(fixture(name)) as T;
}
