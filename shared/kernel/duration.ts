/**
 * A time box as people write it (`isolateFor` in a policy rule, on the manual API and the CLI's
 * `--for`): a whole number of minutes, hours or days, `30m`, `8h`, `2d`. Nothing else is read: a time
 * box decides when a device is released, so `8` or `8 hours` is refused, never guessed.
 */

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The form every way in checks (the policy schema repeats it). */
export const DURATION_PATTERN = /^([1-9][0-9]{0,3})(m|h|d)$/;

/** What a duration looks like, for error messages. */
export const DURATION_FORM = 'a whole number of minutes, hours or days: 30m, 8h, 2d';

/** The milliseconds of `text`, or null when it is not DURATION_FORM. */
export function parseDuration(text: string): number | null {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
