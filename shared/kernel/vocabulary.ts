/** Words every layer speaks, from the settings and the policy down to the MDE adapter and dispatch. */

/** `dry-run` decides and reports as `enforce` does, but never asks MDE to act. */
export const POLICY_MODES = ['enforce', 'dry-run'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/**
 * What a person's isolate or release does in a `dry-run` deployment (MANUAL_ISOLATION_MODE): `follow`
 * the isolation mode (decide, post nothing), or `enforce` it, so people can isolate during a dry-run
 * rollout while automatic decisions are only reported.
 */
export const MANUAL_MODES = ['follow', 'enforce'] as const;
export type ManualMode = (typeof MANUAL_MODES)[number];

/**
 * The isolation types a policy rule (or a relayed manual request) asks for (docs/mde-api.md §5):
 * Selective leaves a few applications connected.
 */
export const ISOLATION_TYPES = ['Full', 'Selective'] as const;
export type IsolationType = (typeof ISOLATION_TYPES)[number];

/**
 * Every type MDE's isolate takes: `UnManagedDevice` contains a device MDE lists as not onboarded
 * (docs/mde-api.md §9.4). Only a person asks for it, through the manual API.
 */
export const MDE_ISOLATION_TYPES = [...ISOLATION_TYPES, 'UnManagedDevice'] as const;
export type MdeIsolationType = (typeof MDE_ISOLATION_TYPES)[number];
