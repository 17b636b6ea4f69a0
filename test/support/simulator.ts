/**
 * The MDE simulator as tests run it: started on loopback with the real @azure/identity pointed at its
 * managed identity endpoint (identity.ts), both undone by the simulator's `close`.
 */
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../../simulator';
import { pointIdentityAt } from './identity';

export async function startSimulatorWithIdentity(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = await startSimulator(options);
  const restoreIdentity = pointIdentityAt(sim);
  return {
    ...sim,
    close: async () => {
      restoreIdentity();
      await sim.close();
    },
  };
}
