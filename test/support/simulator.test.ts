import { startSimulatorWithIdentity } from './simulator';

describe('startSimulatorWithIdentity', () => {
  it('points @azure/identity at the simulator until it closes, then puts the environment back', async () => {
    const before = process.env.IDENTITY_ENDPOINT;
    const sim = await startSimulatorWithIdentity();
    try {
      expect(process.env.IDENTITY_ENDPOINT).toBe(sim.identityEndpoint);
      expect(process.env.IDENTITY_HEADER).toBe(sim.identityHeader);
    } finally {
      await sim.close();
    }
    expect(process.env.IDENTITY_ENDPOINT).toBe(before);
    await expect(fetch(sim.baseUrl)).rejects.toThrow();
  });
});
