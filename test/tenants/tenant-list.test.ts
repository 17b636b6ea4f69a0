import { ConfigError, loadConfig } from '../../shared/config';
import { MAX_TENANTS, parseTenantList } from '../../shared/tenants/parse';

const CONTOSO = '2f4a9c1e-7b3d-4e8a-9c21-5d6e7f8a9b0c';
const FABRIKAM = '8d1b6e3f-2a4c-4b5d-8e9f-0a1b2c3d4e5f';
const WORKSPACE = '4bbc8746-752f-443e-b97b-650654adf06e';

const list = (...entries: unknown[]) => JSON.stringify(entries);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.setting}${p.message}`);
    throw error;
  }
  return [];
}

describe('the tenant list (MDE_TENANTS)', () => {
  it('reads each tenant with its cloud, host, workspaces and overrides, ids in lower case', () => {
    const { tenants, problems } = parseTenantList(
      list(
        {
          tenantId: CONTOSO.toUpperCase(),
          displayName: 'Contoso',
          apiUrl: 'https://eu.api.security.microsoft.com',
          workspaceIds: [WORKSPACE.toUpperCase()],
          rateLimits: '50/60s,750/1h',
          policy: { mode: 'dry-run' },
        },
        { tenantId: FABRIKAM, displayName: 'Fabrikam', cloud: 'gcc-high' },
      ),
    );
    expect(problems).toEqual([]);
    expect(tenants[0]).toMatchObject({
      tenantId: CONTOSO,
      cloud: 'commercial',
      apiBaseUrl: 'https://eu.api.security.microsoft.com',
      tokenScope: 'https://api.securitycenter.microsoft.com/.default',
      workspaceIds: [WORKSPACE],
      policyOverride: { mode: 'dry-run' },
      rateLimits: [
        { count: 50, windowMs: 60_000, label: '50/60s' },
        { count: 750, windowMs: 3_600_000, label: '750/1h' },
      ],
    });
    expect(tenants[1]).toMatchObject({
      cloud: 'gcc-high',
      apiBaseUrl: 'https://api-gov.securitycenter.microsoft.us',
      authorityHost: 'https://login.microsoftonline.us',
      policyOverride: null,
      rateLimits: null,
    });
  });

  it.each([
    [
      'a stranger host',
      'https://evil.example.net',
      /\[0\]\.apiUrl: host evil\.example\.net is no documented API host of "commercial"/,
    ],
    [
      'another cloud',
      'https://api-gov.securitycenter.microsoft.us',
      /belongs to cloud "gcc-high", not "commercial"/,
    ],
    ['plain http', 'http://eu.api.security.microsoft.com', /plain http/],
    ['a path', 'https://eu.api.security.microsoft.com/redirect?to=x', /a host alone/],
    ['a look-alike loopback name', 'http://127.0.0.1.example.net', /no documented API host/],
    ['credentials', 'https://user:pw@eu.api.security.microsoft.com', /user name or password/],
  ])('never sends a tenant token to %s', (_what, apiUrl, message) => {
    const { problems } = parseTenantList(list({ tenantId: CONTOSO, displayName: 'Contoso', apiUrl }));
    expect(problems).toEqual([expect.stringMatching(message)]);
    expect(problems.join()).not.toContain('pw@');
  });

  it('accepts the local simulator on loopback, as MDE_API_URL does', () => {
    const { tenants } = parseTenantList(
      list({ tenantId: CONTOSO, displayName: 'Contoso', apiUrl: 'http://127.0.0.1:4010' }),
    );
    expect(tenants[0].apiBaseUrl).toBe('http://127.0.0.1:4010');
  });

  it('names the entry and the field of every problem at once', () => {
    const { problems } = parseTenantList(
      list(
        { tenantId: 'contoso', displayName: '', cloud: 'moon', rateLimit: '1/1s' },
        { tenantId: FABRIKAM, displayName: 'Fabrikam', workspaceIds: ['x'], policy: [], rateLimits: 'lots' },
        'Northwind',
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^\[0\]\.rateLimit: is no tenant field/),
      expect.stringMatching(/^\[0\]\.tenantId: is not a GUID/),
      expect.stringMatching(/^\[0\]\.displayName: is not one line/),
      expect.stringMatching(/^\[0\]\.cloud: is not one of commercial, gcc, gcc-high, dod/),
      expect.stringMatching(/^\[1\]\.workspaceIds: is not a list of at most 50 workspace ids/),
      expect.stringMatching(/^\[1\]\.policy: is not a JSON object/),
      expect.stringMatching(/^\[1\]\.rateLimits: "lots" is not count\/window/),
      '[2]: is not a JSON object',
    ]);
  });

  it('refuses a tenant or a workspace listed twice, which would send alerts to the wrong one', () => {
    const { problems } = parseTenantList(
      list(
        { tenantId: CONTOSO, displayName: 'Contoso', workspaceIds: [WORKSPACE] },
        { tenantId: CONTOSO, displayName: 'Contoso again' },
        { tenantId: FABRIKAM, displayName: 'Fabrikam', workspaceIds: [WORKSPACE] },
      ),
    );
    expect(problems).toEqual([
      `tenant ${CONTOSO} is listed for "Contoso" and "Contoso again": keep it in one entry`,
      `workspace ${WORKSPACE} is listed for "Contoso" and "Fabrikam": keep it in one entry`,
    ]);
  });

  it('is bounded: at most MAX_TENANTS tenants, and names that are one printable line', () => {
    const many = Array.from({ length: MAX_TENANTS + 1 }, (_, i) => ({
      tenantId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      displayName: `T${i}`,
    }));
    expect(parseTenantList(JSON.stringify(many)).problems).toEqual([
      `lists 201 tenants, more than ${MAX_TENANTS}`,
    ]);
    expect(parseTenantList(JSON.stringify(many.slice(0, MAX_TENANTS))).problems).toEqual([]);
    expect(parseTenantList(list({ tenantId: CONTOSO, displayName: 'Contoso\u001b[2J' })).problems).toEqual([
      expect.stringMatching(/displayName/),
    ]);
    expect(parseTenantList('{').problems).toEqual([expect.stringMatching(/^is not JSON/)]);
    expect(parseTenantList('[]').problems).toEqual([expect.stringMatching(/leave it unset for one tenant/)]);
  });
});

describe('tenants in the settings', () => {
  const identity = { AZURE_CLIENT_ID: '0c0ffee0-1111-4222-8333-444444444444' };

  it('leaves a single-tenant deployment as it was: no list, no app registration, sessions off', () => {
    expect(loadConfig({})).toMatchObject({ tenants: null, tenantAppClientId: null, queueSessions: false });
  });

  it('reads the list with the app registration and the user-assigned identity it needs', () => {
    const config = loadConfig({
      ...identity,
      MDE_TENANTS: list({ tenantId: CONTOSO, displayName: 'Contoso' }),
      MDE_TENANT_APP_CLIENT_ID: FABRIKAM,
      ISOLATION_QUEUE_SESSIONS: 'on',
    });
    expect(config.tenants?.map((t) => t.tenantId)).toEqual([CONTOSO]);
    expect(config).toMatchObject({ tenantAppClientId: FABRIKAM, queueSessions: true });
  });

  it('refuses a list without the app registration or a user-assigned identity, and bad entries, in one error', () => {
    expect(problemsOf({ MDE_TENANTS: list({ tenantId: 'x', displayName: 'X' }) })).toEqual([
      expect.stringMatching(/^MDE_TENANTS\[0\]\.tenantId: is not a GUID/),
      expect.stringMatching(/^MDE_TENANT_APP_CLIENT_IDis required with MDE_TENANTS/),
      expect.stringMatching(
        /^AZURE_CLIENT_IDis required with MDE_TENANTS: .*system-assigned identity cannot be federated/,
      ),
    ]);
    expect(problemsOf({ ISOLATION_QUEUE_SESSIONS: 'yes' })).toEqual([
      expect.stringMatching(/^ISOLATION_QUEUE_SESSIONS"yes" is not on or off/),
    ]);
  });
});
