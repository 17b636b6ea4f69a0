/**
 * Points @azure/identity at a simulator for one test file and puts the environment back afterwards.
 * MSAL picks its managed identity source once per module registry (one jest test file), so a test
 * file uses one simulator's identity endpoint throughout.
 */
const MANAGED_IDENTITY_VARIABLES = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MDE_API_URL'];

export function useSimulatorEnvironment(env: Record<string, string>): () => void {
  const saved = new Map(MANAGED_IDENTITY_VARIABLES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
