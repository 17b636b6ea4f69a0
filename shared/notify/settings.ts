/**
 * The notification channels (docs/notifications.md "Settings"): `NOTIFY_CHANNELS`, a JSON array of
 * `{ name, kind: teams | slack | webhook, url, secret (webhook), events? }`, and
 * `NOTIFY_DIGEST_INTERVAL`. The whole array is one secret: in Azure a Key Vault reference the Bicep
 * wires. So an error names the channel and the field, never a value: a URL or a secret quoted in a
 * message would land in the log (configuration-check.ts writes the message).
 */
import { ConfigError, SETTINGS, type SettingProblem } from '../config';
import { isRecord } from '../kernel/records';
import type { MdeCloud } from '../mde/clouds';
import { NOTIFY_EVENT_KINDS, type NotifyEventKind } from './events';
import { signingKey } from './signed-webhook';

export const CHANNEL_KINDS = ['teams', 'slack', 'webhook'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export interface NotifyChannel {
  /** The operator's name for it: what logs and metrics say instead of the URL. */
  name: string;
  kind: ChannelKind;
  url: string;
  /** Webhook channels: the Standard Webhooks signing key. */
  signingKey: Buffer | null;
  events: ReadonlySet<NotifyEventKind>;
}

export interface NotifySettings {
  channels: NotifyChannel[];
  digestIntervalMs: number;
  /** The Defender portal of the cloud, where device and incident links go. */
  portalUrl: string;
  /** The app's own public base URL, no trailing slash: where the approval page links go. */
  appUrl: string;
}

/**
 * Where the app answers locally: the Functions Core Tools' default port, which the development host
 * (simulator/dev.ts) takes as well.
 */
export const LOCAL_APP_URL = 'http://localhost:7071';

export const MAX_CHANNELS = 20;
/** Twenty channels with long URLs fit in far less; anything longer is not a channel list. */
export const MAX_CHANNELS_CHARS = 32_768;
export const DEFAULT_DIGEST_INTERVAL_MS = 60_000;
const MIN_DIGEST_INTERVAL_MS = 1_000;
const MAX_DIGEST_INTERVAL_MS = 3_600_000;
const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const INTERVAL = /^([1-9][0-9]{0,4})(s|m)$/;

/** The Defender portal of each cloud (docs/notifications.md "Links"). */
const PORTALS: Record<MdeCloud, string> = {
  commercial: 'https://security.microsoft.com',
  gcc: 'https://security.microsoft.com',
  'gcc-high': 'https://security.microsoft.us',
  dod: 'https://security.apps.mil',
};

/** What is wrong with a channel URL, without repeating it; null when nothing is. */
function urlProblem(raw: unknown): string | null {
  if (typeof raw !== 'string' || !URL.canParse(raw)) return 'is not an absolute URL';
  const url = new URL(raw);
  if (url.username || url.password) return 'carries a user name or password: remove it';
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return null;
  return 'must be https:// (plain http only to a loopback address, for local tests)';
}

/** Long enough for any host name (253) with a scheme and a path prefix; anything longer is no base URL. */
const MAX_APP_URL_CHARS = 512;

/**
 * `APP_PUBLIC_URL`, else the host name App Service sets for the app (`WEBSITE_HOSTNAME`,
 * docs/notifications.md "Approval links"), else the local host. A base URL: a path prefix (a gateway
 * in front of the app) is kept, a query or fragment refused.
 */
function readAppUrl(env: Readonly<Record<string, string | undefined>>, problems: SettingProblem[]): string {
  const raw = env[SETTINGS.appPublicUrl]?.trim();
  const host = env.WEBSITE_HOSTNAME?.trim();
  if (!raw) return host ? `https://${host}` : LOCAL_APP_URL;
  const problem =
    raw.length > MAX_APP_URL_CHARS
      ? `is longer than ${MAX_APP_URL_CHARS} characters`
      : (urlProblem(raw) ??
        (new URL(raw).search || new URL(raw).hash ? 'must not carry a query or a fragment' : null));
  if (problem === null) return raw.replace(/\/+$/, '');
  problems.push({ setting: SETTINGS.appPublicUrl, message: problem });
  return LOCAL_APP_URL;
}

function readChannel(
  value: unknown,
  index: number,
  seen: Set<string>,
  problems: SettingProblem[],
): NotifyChannel | null {
  const at = `${SETTINGS.notifyChannels}[${index}]`;
  const problem = (field: string, message: string) => problems.push({ setting: `${at}.${field}`, message });
  if (!isRecord(value)) {
    problems.push({ setting: at, message: 'is not an object { name, kind, url, secret?, events? }' });
    return null;
  }
  const unknownFields = Object.keys(value).filter(
    (key) => !['name', 'kind', 'url', 'secret', 'events'].includes(key),
  );
  if (unknownFields.length > 0)
    problems.push({ setting: at, message: `unknown field(s) ${unknownFields.slice(0, 5).join(', ')}` });
  const { name, kind, url, secret, events } = value;
  const before = problems.length;
  if (typeof name !== 'string' || !NAME.test(name))
    problem('name', 'must be 1 to 40 lower-case letters, digits or hyphens (it names the channel in logs)');
  else if (seen.has(name)) problem('name', `"${name}" is used by another channel`);
  // Taken even when another field is wrong, so its duplicate is named in the same message.
  else seen.add(name);
  if (!(CHANNEL_KINDS as readonly unknown[]).includes(kind))
    problem('kind', `must be one of ${CHANNEL_KINDS.join(', ')}`);
  const bad = urlProblem(url);
  if (bad) problem('url', bad);
  let key: Buffer | null = null;
  if (kind === 'webhook') {
    key = typeof secret === 'string' ? signingKey(secret) : null;
    if (!key)
      problem('secret', 'must be whsec_ followed by 24 to 64 random bytes in base64 (Standard Webhooks)');
  } else if (secret !== undefined) problem('secret', 'only a webhook channel is signed');
  const chosen = readEvents(events, (message) => problem('events', message));
  if (problems.length > before) return null;
  return {
    name: name as string,
    kind: kind as ChannelKind,
    url: url as string,
    signingKey: key,
    events: chosen,
  };
}

function readEvents(value: unknown, problem: (message: string) => void): ReadonlySet<NotifyEventKind> {
  if (value === undefined) return new Set(NOTIFY_EVENT_KINDS);
  const known = NOTIFY_EVENT_KINDS as readonly unknown[];
  if (!Array.isArray(value) || value.length === 0 || value.length > NOTIFY_EVENT_KINDS.length) {
    problem(`must be a list of event kinds (${NOTIFY_EVENT_KINDS.join(', ')}), or left out for all`);
    return new Set();
  }
  const unknown = value.filter((kind) => !known.includes(kind));
  if (unknown.length > 0)
    problem(
      `${unknown
        .slice(0, 3)
        .map((kind) => JSON.stringify(String(kind).slice(0, 40)))
        .join(', ')} not an event kind; known: ${NOTIFY_EVENT_KINDS.join(', ')}`,
    );
  return new Set(value as NotifyEventKind[]);
}

function readChannels(raw: string | undefined, problems: SettingProblem[]): NotifyChannel[] {
  const text = raw?.trim();
  if (!text) return [];
  const setting = SETTINGS.notifyChannels;
  if (text.length > MAX_CHANNELS_CHARS) {
    problems.push({ setting, message: `is longer than ${MAX_CHANNELS_CHARS} characters` });
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text around the error, which may be a URL or a secret.
    problems.push({ setting, message: 'is not JSON: give an array of channels [{ "name", "kind", "url" }]' });
    return [];
  }
  if (!Array.isArray(parsed) || parsed.length > MAX_CHANNELS) {
    problems.push({ setting, message: `must be a JSON array of at most ${MAX_CHANNELS} channels` });
    return [];
  }
  const seen = new Set<string>();
  return parsed
    .map((value, index) => readChannel(value, index, seen, problems))
    .filter((channel): channel is NotifyChannel => channel !== null);
}

function readInterval(raw: string | undefined, problems: SettingProblem[]): number {
  const text = raw?.trim();
  if (!text) return DEFAULT_DIGEST_INTERVAL_MS;
  const match = INTERVAL.exec(text);
  const ms = match ? Number(match[1]) * (match[2] === 's' ? 1_000 : 60_000) : Number.NaN;
  if (ms >= MIN_DIGEST_INTERVAL_MS && ms <= MAX_DIGEST_INTERVAL_MS) return ms;
  problems.push({
    setting: SETTINGS.notifyDigestInterval,
    message: `"${text.slice(0, 20)}" is not seconds or minutes from 1s to 60m, such as 30s or 1m`,
  });
  return DEFAULT_DIGEST_INTERVAL_MS;
}

/** Reads both settings; throws one ConfigError naming every bad one, never quoting a URL or secret. */
export function readNotifySettings(
  env: Readonly<Record<string, string | undefined>>,
  cloud: MdeCloud,
): NotifySettings {
  const problems: SettingProblem[] = [];
  const channels = readChannels(env[SETTINGS.notifyChannels], problems);
  const digestIntervalMs = readInterval(env[SETTINGS.notifyDigestInterval], problems);
  const appUrl = readAppUrl(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { channels, digestIntervalMs, portalUrl: PORTALS[cloud], appUrl };
}
