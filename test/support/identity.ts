/**
 * Points the real @azure/identity at a running simulator's managed identity endpoint, as App Service
 * does in Azure (IDENTITY_ENDPOINT / IDENTITY_HEADER), and puts the environment back afterwards.
 * Other managed identity variables are cleared meanwhile, so a stray one on the machine cannot send
 * the credential elsewhere. MSAL picks its managed identity source once per module registry (one
 * jest test file), so a test file uses one simulator's identity endpoint throughout.
 */

/** The variables @azure/identity reads to find a managed identity. */
export const IDENTITY_VARIABLES = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'AZURE_CLIENT_ID',
];

/** Sets the simulator's variables in process.env; the returned function restores every one it touched. */
export function pointIdentityAt(simulator: { env(): Record<string, string> }): () => void {
  const env = simulator.env();
  const touched = [...new Set([...IDENTITY_VARIABLES, ...Object.keys(env)])];
  const saved = new Map(touched.map((name) => [name, process.env[name]]));
  for (const name of IDENTITY_VARIABLES) delete process.env[name];
  Object.assign(process.env, env);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * A user-assigned identity with the app's two roles, for tests that set AZURE_CLIENT_ID: it keeps
 * @azure/identity on the managed identity alone (no developer-login fallbacks), as in Azure.
 */
export const USER_ASSIGNED_IDENTITY = '0c0ffee0-1111-4222-8333-444444444444';
export const USER_ASSIGNED_ROLES = { [USER_ASSIGNED_IDENTITY]: ['Machine.Isolate', 'Machine.Read.All'] };

/** What an identity endpoint (or a proxy in front of it) might echo back in an error. */
export const LEAKY_IDENTITY_BODY =
  '<html><body><h1>Bad Request</h1><script>alert(1)</script>client_secret=Zq8~s3cr3t-LOOKING.value_42</body></html>';
/** Pieces of LEAKY_IDENTITY_BODY that must appear in nothing the app says. */
export const LEAK_MARKERS = ['s3cr3t', '<html', '<script', 'Bad Request'];
