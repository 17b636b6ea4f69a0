import { ConfigError } from '../../shared/config';
import { checkConfiguration } from '../../shared/configuration-check';
import { NOTIFY_EVENT_KINDS } from '../../shared/notify/events';
import { readNotifySettings } from '../../shared/notify/settings';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const TEAMS_URL =
  'https://prod-42.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=TOPSECRETSIG';

function problemsOf(channels: unknown, interval?: string): string[] {
  try {
    readNotifySettings(
      {
        NOTIFY_CHANNELS: typeof channels === 'string' ? channels : JSON.stringify(channels),
        NOTIFY_DIGEST_INTERVAL: interval,
      },
      'commercial',
    );
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.setting}: ${p.message}`);
  }
}

describe('NOTIFY_CHANNELS and NOTIFY_DIGEST_INTERVAL', () => {
  it('reads channels of each kind, all events unless filtered, a minute by default', () => {
    const settings = readNotifySettings(
      {
        NOTIFY_CHANNELS: JSON.stringify([
          { name: 'soc-teams', kind: 'teams', url: TEAMS_URL, events: ['escalated', 'approval-pending'] },
          { name: 'siem', kind: 'webhook', url: 'https://siem.example/hook', secret: SECRET },
        ]),
      },
      'gcc-high',
    );
    expect(settings.digestIntervalMs).toBe(60_000);
    expect(settings.portalUrl).toBe('https://security.microsoft.us');
    expect([...settings.channels[0].events]).toEqual(['escalated', 'approval-pending']);
    expect([...settings.channels[1].events]).toEqual([...NOTIFY_EVENT_KINDS]);
    expect(settings.channels[1].signingKey?.length).toBe(32);
  });

  it('none configured: no channel', () => {
    expect(readNotifySettings({}, 'commercial').channels).toEqual([]);
  });

  it('names every bad channel field at once, and never quotes a URL or a secret', () => {
    const problems = problemsOf([
      { name: 'Bad Name', kind: 'teams', url: 'http://prod-42.logic.azure.com/x?sig=TOPSECRETSIG' },
      { name: 'hook', kind: 'webhook', url: TEAMS_URL, secret: 'whsec_TOPSECRETSIG' },
      { name: 'hook', kind: 'slack', url: TEAMS_URL, events: ['escalated', 'everything'], extra: 1 },
      { name: 'pager', kind: 'pager', url: 'https://user:TOPSECRETSIG@pager.example/' },
    ]);
    expect(problems).toEqual([
      'NOTIFY_CHANNELS[0].name: must be 1 to 40 lower-case letters, digits or hyphens (it names the channel in logs)',
      'NOTIFY_CHANNELS[0].url: must be https:// (plain http only to a loopback address, for local tests)',
      'NOTIFY_CHANNELS[1].secret: must be whsec_ followed by 24 to 64 random bytes in base64 (Standard Webhooks)',
      'NOTIFY_CHANNELS[2]: unknown field(s) extra',
      'NOTIFY_CHANNELS[2].name: "hook" is used by another channel',
      expect.stringMatching(
        /^NOTIFY_CHANNELS\[2\]\.events: "everything" not an event kind; known: escalated, /,
      ),
      'NOTIFY_CHANNELS[3].kind: must be one of teams, slack, webhook',
      'NOTIFY_CHANNELS[3].url: carries a user name or password: remove it',
    ]);
    expect(problems.join('\n')).not.toContain('TOPSECRETSIG');
  });

  it('refuses text that is no JSON array without quoting it, too many channels, and a bad interval', () => {
    expect(problemsOf(`[{"url": "${TEAMS_URL}"`)).toEqual([
      'NOTIFY_CHANNELS: is not JSON: give an array of channels [{ "name", "kind", "url" }]',
    ]);
    expect(problemsOf(Array.from({ length: 21 }, () => ({})))).toEqual([
      'NOTIFY_CHANNELS: must be a JSON array of at most 20 channels',
    ]);
    expect(problemsOf([], '0s')).toEqual([
      'NOTIFY_DIGEST_INTERVAL: "0s" is not seconds or minutes from 1s to 60m, such as 30s or 1m',
    ]);
    expect(problemsOf([], '61m')).toHaveLength(1);
  });

  it('health reports the settings invalid by name, never the value', () => {
    const check = checkConfiguration({
      NOTIFY_CHANNELS: '[{"name":"x","kind":"teams","url":"ftp://TOPSECRETSIG"}]',
    });
    expect(check).toEqual({
      valid: false,
      component: 'settings',
      invalidSettings: ['NOTIFY_CHANNELS[0].url'],
    });
  });
});

describe('APP_PUBLIC_URL: where the approval page links point', () => {
  const appUrlOf = (env: Record<string, string>) => readNotifySettings(env, 'commercial').appUrl;
  const problemOf = (value: string): string[] => {
    try {
      readNotifySettings({ APP_PUBLIC_URL: value }, 'commercial');
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems.map((p) => `${p.setting}: ${p.message}`);
    }
  };

  it('is the setting without its trailing slash, else the host App Service names, else the local host', () => {
    expect(appUrlOf({ APP_PUBLIC_URL: 'https://soc.contoso.example/isolator/', WEBSITE_HOSTNAME: 'x' })).toBe(
      'https://soc.contoso.example/isolator',
    );
    expect(appUrlOf({ WEBSITE_HOSTNAME: 'func-mdeiso-abc.azurewebsites.net' })).toBe(
      'https://func-mdeiso-abc.azurewebsites.net',
    );
    expect(appUrlOf({})).toBe('http://localhost:7071');
    expect(appUrlOf({ APP_PUBLIC_URL: 'http://127.0.0.1:7071' })).toBe('http://127.0.0.1:7071');
  });

  it('refuses plain http off loopback, credentials, a query and what is no URL, by name', () => {
    expect(problemOf('http://isolator.contoso.example')).toEqual([
      'APP_PUBLIC_URL: must be https:// (plain http only to a loopback address, for local tests)',
    ]);
    expect(problemOf('https://user:pw@isolator.contoso.example')).toEqual([
      'APP_PUBLIC_URL: carries a user name or password: remove it',
    ]);
    expect(problemOf('https://isolator.contoso.example/?code=abc')).toEqual([
      'APP_PUBLIC_URL: must not carry a query or a fragment',
    ]);
    expect(problemOf('isolator.contoso.example')).toEqual(['APP_PUBLIC_URL: is not an absolute URL']);
    expect(problemOf(`https://${'a'.repeat(600)}.example`)).toEqual([
      'APP_PUBLIC_URL: is longer than 512 characters',
    ]);
  });
});
