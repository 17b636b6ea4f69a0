/** Small builders so each test states only what it is about. */
import type { NormalizedAlert } from '../../shared/alerts/model';
import type { Machine } from '../../shared/mde/types';
import type { PolicyDocument } from '../../shared/policy/document';
import { createPolicy } from '../../shared/policy/engine';
import { formatProblem, validatePolicy } from '../../shared/policy/validate';
import { DEVICE_ID } from '../support/alerts';

export function machineOf(overrides: Partial<Machine> = {}): Machine {
  return {
    id: DEVICE_ID,
    computerDnsName: 'acct-lt-0093.ad.northwind.example',
    lastSeen: '2026-11-28T10:00:00Z',
    osPlatform: 'Windows11',
    version: '23H2',
    healthStatus: 'Active',
    onboardingStatus: 'Onboarded',
    rbacGroupName: 'Workstations',
    riskScore: 'High',
    exposureLevel: 'Medium',
    machineTags: [],
    ...overrides,
  };
}

export function documentOf(overrides: Partial<PolicyDocument> = {}): PolicyDocument {
  return { version: 'test-1', mode: 'enforce', rules: [], ...overrides };
}

/** A policy from a document that must pass validation, as every loaded policy does. */
export function policyOf(overrides: Partial<PolicyDocument> = {}) {
  const result = validatePolicy(documentOf(overrides));
  if (!result.valid)
    throw new Error(`test policy is invalid: ${result.errors.map(formatProblem).join('; ')}`);
  return createPolicy(result.policy);
}

/** Stage 2 for the alert's first device. */
export function decideOn(
  policy: ReturnType<typeof policyOf>,
  alert: NormalizedAlert,
  machine: Machine,
  now: Date = new Date(),
) {
  return policy.decideDevice(alert, alert.devices[0], machine, { trace: true, now });
}
