/**
 * Intake on its own, as on a Flex instance that runs the HTTP functions while the worker runs
 * elsewhere: a storm's alerts (ten per device) decided, coalesced and queued with no worker, so every
 * alert after a device's first is absorbed into its open request. Measures the process CPU per alert
 * and, with a transaction counter, the Table transactions per alert.
 */
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { loadPolicy } from '../../shared/policy/load';
import { createRuntime } from '../../shared/runtime';
import type { StateStore } from '../../shared/state/store';
import { startSimulatorWithIdentity } from '../support/simulator';
import { ALERTS_PER_DEVICE, POLICY, rateLimitsAt, stormAlerts } from './storm';

/** Alerts per intake call, as in the storm scenarios. */
const BATCH = 50;

export interface IntakeFigures {
  alerts: number;
  cpuMsPerAlert: number;
}

export async function intakeAlone(devicesCount: number, store: StateStore): Promise<IntakeFigures> {
  const rateLimits = rateLimitsAt(25);
  const sim = await startSimulatorWithIdentity({
    fleet: { curated: false, generate: devicesCount, offlineShare: 0 },
    rateLimits,
  });
  const runtime = createRuntime({
    env: { ...sim.env(), MDE_RATE_LIMITS: rateLimits },
    policy: loadPolicy({ kind: 'inline', text: JSON.stringify(POLICY) }, null),
    mode: 'inline',
    startWorker: false,
    store,
    reporter: { outcome: () => undefined, note: () => undefined },
  });
  try {
    const { alerts } = stormAlerts(sim, ALERTS_PER_DEVICE * devicesCount);
    const cpu = process.cpuUsage();
    for (let i = 0; i < alerts.length; i += BATCH) {
      await runtime.receiveAlerts(alerts.slice(i, i + BATCH));
      await yieldToIo();
    }
    const used = process.cpuUsage(cpu);
    return { alerts: alerts.length, cpuMsPerAlert: (used.user + used.system) / 1_000 / alerts.length };
  } finally {
    await runtime.close();
    await sim.close();
  }
}
