/**
 * A storm bench's parameters, after its name: `npm run bench -- storm --speedup 10 --devices 1500
 * --arrival sustained`. Unknown or malformed flags stop the run with a usage line.
 */
export interface StormOptions {
  /** Time compression: quotas, the app's timing and MDE's action lifetimes run this much faster. */
  speedup: number;
  devices: number[];
  arrivals: Arrival[];
}

export type Arrival = 'burst' | 'sustained';

/**
 * 25× by default: at 100× this 2-core machine is CPU-bound and never reaches the hour window
 * (issue 27); at 25× and 10× a storm's process stays well under a core.
 */
export const DEFAULT_SPEEDUP = 25;
const DEFAULT_DEVICES = [1_500, 2_000, 3_000];
const ARRIVALS: readonly Arrival[] = ['burst', 'sustained'];
const MAX_DEVICES = 20_000;

/** A flag the bench does not take, or a value out of its range: the run stops before it starts. */
export class UsageError extends Error {}

function stormUsage(devices: readonly number[]): string {
  return `[--speedup N (1–1000, default ${DEFAULT_SPEEDUP})] [--devices N[,N…] (default ${devices.join(',')})] [--arrival burst|sustained]`;
}

export function stormOptions(args: string[], defaults: Partial<StormOptions> = {}): StormOptions {
  const options: StormOptions = {
    speedup: DEFAULT_SPEEDUP,
    devices: DEFAULT_DEVICES,
    arrivals: [...ARRIVALS],
    ...defaults,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    const usage = stormUsage(defaults.devices ?? DEFAULT_DEVICES);
    if (value === undefined) throw new UsageError(`${flag} needs a value; usage: ${usage}`);
    if (flag === '--speedup') options.speedup = whole(value, flag, 1, 1_000);
    else if (flag === '--devices')
      options.devices = value.split(',').map((n) => whole(n, flag, 1, MAX_DEVICES));
    else if (flag === '--arrival' && (ARRIVALS as readonly string[]).includes(value))
      options.arrivals = [value as Arrival];
    else throw new UsageError(`unknown option ${flag} ${value}; usage: ${usage}`);
  }
  return options;
}

function whole(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not "${text}"`);
  return n;
}
