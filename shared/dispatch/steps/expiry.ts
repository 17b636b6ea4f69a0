/**
 * When an isolation ends (docs/decisions/0016-isolation-expiry-and-time-boxes.md): the one rule every
 * "is it still in force?" question asks (in-force.ts, and through it the duplicate and idempotency
 * checks, release provenance and the register's `expiresAt`).
 *
 * MDE lifts every isolation a fixed time after it took effect, silently: no action is written and no
 * field changes (docs/mde-api.md §7.6). The lift is a setting (PLATFORM_LIFT_DAYS, default 7), since
 * Microsoft may change it. An isolation took effect when its Isolate action succeeded: MDE's
 * `lastUpdateDateTimeUtc` of the `Succeeded` action, MDE's clock. Comparing it with this app's clock
 * is the one place the two meet; a skew of minutes is nothing against a lift of days.
 */
import { DEFAULT_PLATFORM_LIFT_DAYS } from '../../config';
import { type Clock, DAY_MS } from '../../kernel/clock';
import type { MachineAction } from '../../mde/types';

export const DEFAULT_PLATFORM_LIFT_MS = DEFAULT_PLATFORM_LIFT_DAYS * DAY_MS;

/** The moment an isolation is judged at, and how long the platform lets one last. */
export interface AsOf {
  now: number;
  platformLiftMs: number;
}

/** Now by a runtime's clock, with its platform lift (the manual API and the CLI). */
export function asOfFor(runtime: {
  readonly throttle: { readonly clock: Clock };
  readonly config: { readonly platformLiftMs: number };
}): AsOf {
  return { now: runtime.throttle.clock.now(), platformLiftMs: runtime.config.platformLiftMs };
}

/** When a succeeded Isolate took effect (epoch ms); null for one that did not (yet). */
export function tookEffectAt(
  action: Pick<MachineAction, 'type' | 'status' | 'lastUpdateDateTimeUtc'>,
): number | null {
  if (action.type !== 'Isolate' || action.status !== 'Succeeded') return null;
  const at = Date.parse(action.lastUpdateDateTimeUtc);
  return Number.isNaN(at) ? null : at;
}

/**
 * When an isolation that took effect at `tookEffect` ends: the earlier of the platform lift and the
 * time box its rule or requester asked for (`isolateForMs`), if any.
 */
export function expiresAt(tookEffect: number, platformLiftMs: number, isolateForMs?: number | null): number {
  return tookEffect + Math.min(platformLiftMs, isolateForMs ?? Number.POSITIVE_INFINITY);
}

/** When the platform lifts the isolation `action` put in force; null while it has not taken effect. */
export function platformLiftAt(
  action: Pick<MachineAction, 'type' | 'status' | 'lastUpdateDateTimeUtc'>,
  platformLiftMs: number,
): number | null {
  const from = tookEffectAt(action);
  return from === null ? null : expiresAt(from, platformLiftMs);
}
