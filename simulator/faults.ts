/**
 * Fault injection for API calls (never the identity endpoint): added latency, 5xx answers, dropped
 * connections before or after the call takes effect. Draws come from a seeded generator in call
 * order, so a run with the same seed and the same calls fails the same calls.
 */
import type { MdeApiName } from '../shared/mde/api';
import { type SeededRandom, seededRandom } from './random';

export interface FaultOptions {
  seed?: number;
  /** Probability of answering 5xx instead of handling the call. */
  serverErrorRate?: number;
  /** Status of injected server errors (default 503). */
  serverErrorStatus?: number;
  /** Added before every affected call is handled (ms). */
  latencyMs?: number;
  /** Probability of destroying the socket before the call is handled. */
  dropRate?: number;
  /** Probability of handling a POST and then destroying the socket: the action exists, the client never hears. */
  dropAfterExecuteRate?: number;
  /** Limit faults to these API families (default: all). */
  apis?: MdeApiName[];
  /** Faults of the first affected calls, in this order, before any drawn one: an outage a test can count. */
  firstFaults?: FaultDecision[];
}

export type FaultDecision = 'none' | 'drop' | 'server-error';

export class FaultInjector {
  private options: FaultOptions = {};
  private random: SeededRandom = seededRandom(1);
  private scripted: FaultDecision[] = [];

  constructor(options: FaultOptions = {}) {
    this.set(options);
  }

  /** Replaces the settings; the generator restarts from the (new) seed. */
  set(options: FaultOptions): void {
    this.options = { ...options };
    this.random = seededRandom(options.seed ?? 1);
    this.scripted = [...(options.firstFaults ?? [])];
  }

  current(): FaultOptions {
    return { ...this.options };
  }

  private applies(api: MdeApiName): boolean {
    return !this.options.apis || this.options.apis.includes(api);
  }

  latencyFor(api: MdeApiName): number {
    return this.applies(api) ? (this.options.latencyMs ?? 0) : 0;
  }

  before(api: MdeApiName): FaultDecision {
    if (!this.applies(api)) return 'none';
    const scripted = this.scripted.shift();
    if (scripted !== undefined) return scripted;
    if (this.random.chance(this.options.dropRate ?? 0)) return 'drop';
    if (this.random.chance(this.options.serverErrorRate ?? 0)) return 'server-error';
    return 'none';
  }

  serverErrorStatus(): number {
    return this.options.serverErrorStatus ?? 503;
  }

  dropAfterExecute(api: MdeApiName): boolean {
    return this.applies(api) && this.random.chance(this.options.dropAfterExecuteRate ?? 0);
  }
}
