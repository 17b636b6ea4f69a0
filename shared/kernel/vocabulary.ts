/** Words every layer speaks, from the settings and the policy down to the MDE adapter and dispatch. */

/** `dry-run` decides and reports as `enforce` does, but never asks MDE to act. */
export const POLICY_MODES = ['enforce', 'dry-run'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/** The isolation types this app asks MDE for (docs/mde-api.md): Selective leaves a few applications connected. */
export const ISOLATION_TYPES = ['Full', 'Selective'] as const;
export type IsolationType = (typeof ISOLATION_TYPES)[number];
