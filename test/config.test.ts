import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseIsolationCap, parseRateLimits } from '../shared/config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.setting);
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('runs on built-in defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      cloud: 'commercial',
      apiBaseUrl: 'https://api.security.microsoft.com',
      tokenScope: 'https://api.securitycenter.microsoft.com/.default',
      managedIdentityClientId: null,
      policySource: { kind: 'default' },
      modeOverride: null,
      serviceBusNamespace: null,
      queueName: 'isolation-requests',
      maxAlertBytes: 1048576,
      registerHistoryDays: 90,
      platformLiftMs: 7 * 86_400_000,
    });
    expect(config.rateLimits).toEqual([
      { count: 100, windowMs: 60_000, label: '100/60s' },
      { count: 1500, windowMs: 3_600_000, label: '1500/1h' },
    ]);
  });

  it.each([
    ['gcc', 'https://api-gcc.securitycenter.microsoft.us', 'https://login.microsoftonline.com'],
    ['gcc-high', 'https://api-gov.securitycenter.microsoft.us', 'https://login.microsoftonline.us'],
    ['dod', 'https://api-gov.securitycenter.microsoft.us', 'https://login.microsoftonline.us'],
  ])('picks host, scope and authority together for %s', (cloud, host, authority) => {
    const config = loadConfig({ MDE_CLOUD: cloud });
    expect(config.apiBaseUrl).toBe(host);
    expect(config.tokenScope).toBe(`${host}/.default`);
    expect(config.authorityHost).toBe(authority);
  });

  it('accepts a regional host of the same cloud and the local simulator, with or without /api', () => {
    expect(loadConfig({ MDE_API_URL: 'https://eu.api.security.microsoft.com/' }).apiBaseUrl).toBe(
      'https://eu.api.security.microsoft.com',
    );
    expect(loadConfig({ MDE_API_URL: 'http://127.0.0.1:4010/api' }).apiBaseUrl).toBe('http://127.0.0.1:4010');
  });

  it('refuses a host of another cloud, whose token would not match', () => {
    expect(() => loadConfig({ MDE_API_URL: 'https://api-gov.securitycenter.microsoft.us' })).toThrow(
      /MDE_API_URL: host api-gov\.securitycenter\.microsoft\.us belongs to cloud "gcc-high", not "commercial", whose token it refuses: set MDE_CLOUD=gcc-high/,
    );
  });

  it.each([
    ['commercial', 'https://api.securitycenter.microsoft.com', 'https://api.securitycenter.microsoft.com'],
    [
      'commercial',
      'https://api-us.securitycenter.microsoft.com/api',
      'https://api-us.securitycenter.microsoft.com',
    ],
    ['commercial', 'https://uk.api.security.microsoft.com', 'https://uk.api.security.microsoft.com'],
    ['gcc', 'https://api-gcc.securitycenter.microsoft.us', 'https://api-gcc.securitycenter.microsoft.us'],
    ['dod', 'https://api-gov.securitycenter.microsoft.us', 'https://api-gov.securitycenter.microsoft.us'],
    ['commercial', 'http://localhost:4010', 'http://localhost:4010'],
    ['gcc-high', 'http://[::1]:4010/api', 'http://[::1]:4010'],
    ['commercial', 'http://127.1.2.3:4010', 'http://127.1.2.3:4010'],
  ])('accepts for %s the documented host or loopback address %s', (cloud, url, base) => {
    expect(loadConfig({ MDE_CLOUD: cloud, MDE_API_URL: url }).apiBaseUrl).toBe(base);
  });

  it.each([
    // A DNS name that looks like a loopback address resolves wherever its owner wants.
    ['http://127.0.0.1.attacker.example:4010', /host 127\.0\.0\.1\.attacker\.example is no documented/],
    ['https://127.attacker.example', /host 127\.attacker\.example is no documented/],
    ['https://mde-proxy.example.com', /host mde-proxy\.example\.com is no documented/],
    ['https://api.security.microsoft.com.attacker.example', /is no documented/],
    ['http://0.0.0.0:4010', /host 0\.0\.0\.0 is no documented/],
  ])('refuses %s, naming the setting, what is wrong and the fix', (url, what) => {
    expect(problemsOf({ MDE_API_URL: url })).toEqual(['MDE_API_URL']);
    expect(() => loadConfig({ MDE_API_URL: url })).toThrow(what);
    expect(() => loadConfig({ MDE_API_URL: url })).toThrow(
      /leave MDE_API_URL empty for https:\/\/api\.security\.microsoft\.com, set a host of "commercial" \(api\.security\.microsoft\.com, .*\), or the local simulator by address \(http:\/\/127\.0\.0\.1:<port>/,
    );
  });

  it('refuses credentials in the URL without repeating them', () => {
    const url = 'https://svc:hunter2@api.security.microsoft.com';
    expect(() => loadConfig({ MDE_API_URL: url })).toThrow(/MDE_API_URL: carries a user name or password/);
    expect(() => loadConfig({ MDE_API_URL: url })).not.toThrow(/hunter2/);
  });

  it('refuses a documented host over plain http, which would carry the token in clear', () => {
    expect(() => loadConfig({ MDE_API_URL: 'http://eu.api.security.microsoft.com' })).toThrow(
      /MDE_API_URL: "http:\/\/eu\.api\.security\.microsoft\.com" would send the bearer token over plain http: use https:\/\/eu\.api\.security\.microsoft\.com/,
    );
  });

  it('reads the platform lift in whole days', () => {
    expect(loadConfig({ PLATFORM_LIFT_DAYS: '10' }).platformLiftMs).toBe(10 * 86_400_000);
    for (const days of ['0', '7.5', 'seven'])
      expect(() => loadConfig({ PLATFORM_LIFT_DAYS: days })).toThrow(
        /PLATFORM_LIFT_DAYS: .* is not a positive whole number/,
      );
  });

  it('reads the register history retention in whole days', () => {
    expect(loadConfig({ REGISTER_HISTORY_DAYS: '30' }).registerHistoryDays).toBe(30);
    for (const days of ['0', '1.5', 'ninety'])
      expect(() => loadConfig({ REGISTER_HISTORY_DAYS: days })).toThrow(
        /REGISTER_HISTORY_DAYS: .* is not a positive whole number/,
      );
  });

  it('refuses an API URL that is not http(s)', () => {
    for (const url of [
      'ftp://api.security.microsoft.com',
      'file:///etc/passwd',
      'api.security.microsoft.com',
    ])
      expect(() => loadConfig({ MDE_API_URL: url })).toThrow(
        /MDE_API_URL: .* is not an absolute http\(s\) URL/,
      );
  });

  it('names every offending setting in one error, with the accepted values', () => {
    const env = {
      MDE_CLOUD: 'azure-china',
      MDE_API_URL: 'not a url',
      MDE_RATE_LIMITS: '100 per minute',
      ISOLATION_POLICY: '/nonexistent/policy.json',
      ISOLATION_MODE: 'yolo',
      AZURE_CLIENT_ID: 'abc',
      ServiceBusConnection__fullyQualifiedNamespace: 'Endpoint=sb://x/;SharedAccessKeyName=a',
      MDE_REQUEST_TIMEOUT_MS: '-1',
    };
    expect(problemsOf(env).sort()).toEqual(
      [
        'AZURE_CLIENT_ID',
        'ISOLATION_MODE',
        'ISOLATION_POLICY',
        'MDE_API_URL',
        'MDE_CLOUD',
        'MDE_RATE_LIMITS',
        'MDE_REQUEST_TIMEOUT_MS',
        'ServiceBusConnection__fullyQualifiedNamespace',
      ].sort(),
    );
    expect(() => loadConfig(env)).toThrow(
      /MDE_CLOUD: "azure-china" is not one of commercial, gcc, gcc-high, dod/,
    );
    expect(() => loadConfig(env)).toThrow(/ISOLATION_MODE: "yolo" is not one of enforce, dry-run/);
  });

  it('keeps Sentinel incident comments off unless the setting says on, and names a bad value', () => {
    expect(loadConfig({}).sentinelIncidentComments).toBe(false);
    expect(loadConfig({ SENTINEL_INCIDENT_COMMENTS: 'off' }).sentinelIncidentComments).toBe(false);
    expect(loadConfig({ SENTINEL_INCIDENT_COMMENTS: ' ON ' }).sentinelIncidentComments).toBe(true);
    expect(problemsOf({ SENTINEL_INCIDENT_COMMENTS: 'yes' })).toEqual(['SENTINEL_INCIDENT_COMMENTS']);
    expect(() => loadConfig({ SENTINEL_INCIDENT_COMMENTS: 'true' })).toThrow(
      /SENTINEL_INCIDENT_COMMENTS: "true" is not on or off/,
    );
  });

  it('trusts the Easy Auth principal header only when MANUAL_EASY_AUTH says on', () => {
    expect(loadConfig({}).manualEasyAuth).toBe(false);
    expect(loadConfig({ MANUAL_EASY_AUTH: 'on' }).manualEasyAuth).toBe(true);
    expect(problemsOf({ MANUAL_EASY_AUTH: 'true' })).toEqual(['MANUAL_EASY_AUTH']);
  });

  it('lets manual requests follow the isolation mode unless MANUAL_ISOLATION_MODE says enforce', () => {
    expect(loadConfig({}).manualMode).toBe('follow');
    expect(loadConfig({ MANUAL_ISOLATION_MODE: 'enforce' }).manualMode).toBe('enforce');
    expect(problemsOf({ MANUAL_ISOLATION_MODE: 'on' })).toEqual(['MANUAL_ISOLATION_MODE']);
  });

  it.each([
    ['commercial', 'https://management.azure.com'],
    ['gcc', 'https://management.azure.com'],
    ['gcc-high', 'https://management.usgovcloudapi.net'],
    ['dod', 'https://management.usgovcloudapi.net'],
  ])('picks the Resource Manager of %s for incident comments', (cloud, arm) => {
    expect(loadConfig({ MDE_CLOUD: cloud }).armBaseUrl).toBe(arm);
  });

  it('reads a policy from a file or inline JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const path = join(dir, 'policy.json');
    writeFileSync(path, '{"version":"t"}');
    expect(loadConfig({ ISOLATION_POLICY: path }).policySource).toEqual({
      kind: 'file',
      path,
      text: '{"version":"t"}',
    });
    expect(loadConfig({ ISOLATION_POLICY: ' {"version":"i"}' }).policySource).toEqual({
      kind: 'inline',
      text: '{"version":"i"}',
    });
  });
});

describe('parseRateLimits', () => {
  it('reads every unit', () => {
    expect(parseRateLimits('100/600ms, 1500/36s,5/min,7/m,2/h').map((w) => w.windowMs)).toEqual([
      600, 36_000, 60_000, 60_000, 3_600_000,
    ]);
  });

  it.each(['', '100', '0/1s', '100/60x', '/60s'])('rejects %p', (text) => {
    expect(() => parseRateLimits(text)).toThrow();
  });
});

describe('MDE_DEPLOYMENT_MAX_ISOLATIONS', () => {
  it('is off unless set', () => {
    expect(loadConfig({}).deploymentCap).toBeNull();
    expect(loadConfig({ MDE_DEPLOYMENT_MAX_ISOLATIONS: '  ' }).deploymentCap).toBeNull();
  });

  it.each([
    ['50/1h', { limit: 50, windowMs: 3_600_000 }],
    [' 200 / 30m ', { limit: 200, windowMs: 1_800_000 }],
    ['1/7d', { limit: 1, windowMs: 7 * 86_400_000 }],
  ])('reads %p as a count and a window', (text, cap) => {
    expect(parseIsolationCap(text)).toEqual(cap);
    expect(loadConfig({ MDE_DEPLOYMENT_MAX_ISOLATIONS: text }).deploymentCap).toEqual(cap);
  });

  it.each([
    [
      '50',
      /is not isolations\/window; accepted: isolations\/window, at most 200 a window, the window a whole number of minutes, hours or days: 30m, 8h, 2d of at most 7d \(e\.g\. 50\/1h\)/,
    ],
    ['50/1 hour', /is not isolations\/window/],
    ['50/60s', /is not isolations\/window/],
    ['-5/1h', /is not isolations\/window/],
    ['0/1h', /"0\/1h" allows no isolation/],
    ['50/8d', /"50\/8d" has a window longer than 7 days/],
    // The cap counts each isolation once by its action id among the last 200 it counted.
    ['201/1h', /"201\/1h" allows more than 200 isolations a window \(a shorter window gives a higher rate\)/],
  ])("refuses %p with what is accepted, among the other settings' problems", (text, message) => {
    expect(() => parseIsolationCap(text)).toThrow(message);
    expect(problemsOf({ MDE_DEPLOYMENT_MAX_ISOLATIONS: text, MDE_CLOUD: 'mars' })).toEqual([
      'MDE_CLOUD',
      'MDE_DEPLOYMENT_MAX_ISOLATIONS',
    ]);
  });
});
