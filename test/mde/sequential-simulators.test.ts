import { loadConfig } from '../../shared/config';
import { createMdeClient } from '../../shared/mde/client';
import { createCredential } from '../../shared/mde/credential';
import { startSimulatorWithIdentity } from '../support/simulator';

// MSAL keeps the managed identity endpoint and its token cache in static state for the whole test
// file, so the second simulator is served the token the first one issued.
it('works with simulators started one after another in one test file', async () => {
  for (let round = 0; round < 2; round++) {
    const sim = await startSimulatorWithIdentity();
    try {
      const config = loadConfig({ MDE_API_URL: sim.baseUrl });
      const client = createMdeClient(config, { credential: createCredential(config) });
      const id = sim.machines()[0].id;
      expect((await client.getMachine(id)).id).toBe(id);
    } finally {
      await sim.close();
    }
  }
});
