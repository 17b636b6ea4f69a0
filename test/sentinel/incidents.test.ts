/**
 * The Sentinel incident reader against the simulator's ARM stand-in, signed in by the real
 * @azure/identity managed identity code at the simulator's identity endpoint.
 */
import { createServer } from 'node:net';
import type { TokenCredential } from '@azure/identity';
import { loadConfig } from '../../shared/config';
import { createCredential } from '../../shared/mde/credential';
import {
  createIncidentReader,
  IncidentUnansweredError,
  SENTINEL_INCIDENTS_API_VERSION,
} from '../../shared/sentinel/incidents';
import type { RunningSimulator } from '../../simulator';
import { startSimulatorWithIdentity } from '../support/simulator';

const ARM = 'https://management.azure.com';
let sim: RunningSimulator;
let credential: TokenCredential;

beforeAll(async () => {
  sim = await startSimulatorWithIdentity();
  credential = createCredential(loadConfig(sim.env()));
});
afterAll(() => sim.close());

const reader = (armBaseUrl = ARM, endpointUrl = sim.baseUrl) =>
  createIncidentReader({ credential, armBaseUrl, endpointUrl, timeoutMs: 10_000 });

const armCalls = () => sim.calls().filter((c) => c.api === 'arm');

describe('the Sentinel incident reader', () => {
  beforeEach(() => sim.resetCalls());

  it('reads New, Active and Closed with an ARM token and the stable api-version', async () => {
    for (const status of ['New', 'Active', 'Closed'] as const) {
      const id = sim.addIncident(status);
      expect(await reader().read(id)).toEqual({ kind: 'status', status });
    }
    expect(
      armCalls().map((c) => [c.method, c.status, new URL(c.path, ARM).searchParams.get('api-version')]),
    ).toEqual(Array(3).fill(['GET', 200, SENTINEL_INCIDENTS_API_VERSION]));
  });

  it('calls nothing for an id that is not a Sentinel incident of a workspace', async () => {
    const incident = sim.addIncident('Active');
    const workspace = incident.replace(/\/providers\/Microsoft\.SecurityInsights\/.*$/, '');
    for (const forged of [
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
      `${workspace}/providers/Microsoft.SecurityInsights/Incidents/../../../../../Microsoft.KeyVault/vaults/kv`,
      `${workspace}/providers/Microsoft.SecurityInsights/Incidents/%2e%2e`,
      `${incident}?api-version=2015-01-01`,
      `https://attacker.example${incident}`,
      `${incident}/comments/1`,
    ])
      expect(await reader().read(forged)).toEqual({
        kind: 'unreadable',
        reason: 'the alert names no Sentinel incident resource id the app may read',
      });
    expect(armCalls()).toEqual([]);
  });

  it('answers unreadable, naming the role and the workspace, to a 403 and to a 404', async () => {
    const incident = sim.addIncident('Active');
    const workspace = incident.replace(/\/providers\/Microsoft\.SecurityInsights\/.*$/, '');
    const grant = `grant the app's identity Microsoft Sentinel Reader on workspace ${workspace}`;
    sim.setIncidentReads('forbidden');
    try {
      expect(await reader().read(incident)).toEqual({
        kind: 'unreadable',
        reason: `ARM answered 403 AuthorizationFailed reading the incident; ${grant}`,
      });
    } finally {
      sim.setIncidentReads('allowed');
    }
    const gone = incident.replace(/[^/]+$/, '00000000-0000-4000-8000-000000000000');
    expect(await reader().read(gone)).toEqual({
      kind: 'unreadable',
      reason: `ARM answered 404 NotFound reading the incident; ${grant}`,
    });
  });

  it('is refused a token for another audience (the stand-in checks it)', async () => {
    const incident = sim.addIncident('Active');
    expect(await reader('https://api.securitycenter.microsoft.com').read(incident)).toMatchObject({
      kind: 'unreadable',
      reason: expect.stringContaining('ARM answered 401 InvalidAuthenticationTokenAudience'),
    });
  });

  it('throws a transient error when ARM is unavailable (503), for the worker to retry', async () => {
    sim.setIncidentReads('unavailable');
    try {
      await expect(reader().read(sim.addIncident('Active'))).rejects.toThrow(
        new IncidentUnansweredError('ARM answered 503 ServiceUnavailable reading the incident'),
      );
    } finally {
      sim.setIncidentReads('allowed');
    }
  });

  it('throws a transient error when ARM gives no answer, for the worker to retry', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    await expect(reader(ARM, `http://127.0.0.1:${port}`).read(sim.addIncident('Active'))).rejects.toThrow(
      IncidentUnansweredError,
    );
  });
});
