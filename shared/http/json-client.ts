/**
 * The one HTTP client of the product: a JSON request to an Azure API with a bearer token, under one
 * deadline, answered with its status, headers, parsed body and `Retry-After`. It knows nothing of the
 * API it talks to: every status comes back as an answer, and what a status means is the caller's.
 *
 * It never retries. A failure before any answer is one of two errors: no token, or no answer. Neither
 * keeps the library error as `cause`: an axios error carries the request config, Authorization
 * header included, and an identity library error may quote the identity endpoint's answer.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { type Clock, systemClock } from '../kernel/clock';

/** A credential that may also fetch a token past every cache, for a resend after a 401. */
export interface JsonClientCredential extends TokenCredential {
  getFreshToken?(scope: string): Promise<AccessToken | null>;
}

export interface JsonClientOptions {
  /** Where paths are resolved; never followed elsewhere (no redirects). */
  baseUrl: string;
  /** The token's audience, e.g. `https://api.securitycenter.microsoft.com/.default`. */
  scope: string;
  credential: JsonClientCredential;
  /** The deadline of one exchange, token fetch included. */
  timeoutMs: number;
  /** When a token held for reuse is due for renewal; the system clock by default. */
  clock?: Clock;
}

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Below `baseUrl`, starting with `/`. */
  path: string;
  params?: Record<string, string>;
  /** Sent as JSON when present. */
  body?: unknown;
}

export interface JsonResponse {
  status: number;
  headers: Record<string, unknown>;
  /** The parsed JSON body; the text itself when it is not JSON; empty string when there is none. */
  data: unknown;
  /** The `Retry-After` header in ms from now; null when absent or unreadable. */
  retryAfterMs: number | null;
}

/** Where an exchange's token comes from: the credential's cache, or the identity endpoint itself. */
export type TokenOrigin = 'cache' | 'identity-endpoint';

/**
 * A held token is asked of the credential again this long before it expires: the margin within which
 * @azure/identity and MSAL renew a cached token themselves, so a token reused here is one the
 * credential would still hand out.
 */
export const TOKEN_RENEWAL_MARGIN_MS = 5 * 60_000;

/** No token: the credential returned none, failed, or missed the deadline. Nothing was sent. */
export class TokenUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenUnavailableError';
  }
}

/** Why a request got no HTTP answer; only `connection-refused` proves nothing reached the server. */
export type NoAnswerCause = 'timeout' | 'connection-reset' | 'connection-refused' | 'network';

export class NoAnswerError extends Error {
  constructor(
    readonly noAnswerCause: NoAnswerCause,
    /** What happened, in words: the deadline, or the network library's message. */
    readonly reason: string,
  ) {
    super(`no answer (${noAnswerCause}: ${reason})`);
    this.name = 'NoAnswerError';
  }
}

export class JsonClient {
  private readonly http: AxiosInstance;
  /**
   * The token fetch in progress, per origin, shared by every request that needs one meanwhile: a
   * request gives up on it at its deadline, but the fetch itself cannot be cancelled, so an identity
   * endpoint that never answers holds one connection, not one per attempt.
   */
  private readonly tokenFetches = new Map<TokenOrigin, Promise<AccessToken | null>>();
  /**
   * The token the credential's cache last handed out, reused until it is due for renewal: asking the
   * credential costs more CPU than the exchange itself (a tracing span and MSAL's cache lookup, every
   * call). Never one the credential handed out around a fetch past every cache (after a 401): then
   * every exchange asks the credential again, until it hands out the new token.
   */
  private held: AccessToken | null = null;
  /** Fetches past every cache begun so far: a cache fetch begun before the latest one is not held. */
  private freshFetches = 0;
  private readonly clock: Clock;

  constructor(private readonly options: JsonClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.http = axios.create({
      baseURL: options.baseUrl.replace(/\/+$/, ''),
      timeout: options.timeoutMs,
      maxRedirects: 0,
      // Every status is an answer; the caller maps it, with the body at hand.
      validateStatus: () => true,
      headers: { Accept: 'application/json' },
    });
  }

  /**
   * One exchange. One deadline bounds it all, token included: an identity endpoint that never
   * answers must not hold the caller longer than a slow server would. axios's own `timeout` only
   * notices an idle socket (a slowly trickling answer never trips it), so an abort signal bounds the
   * exchange from sending to the last byte.
   */
  async exchange(request: JsonRequest, tokenFrom: TokenOrigin = 'cache'): Promise<JsonResponse> {
    const deadlineMs = this.options.timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), deadlineMs);
    try {
      const token = await this.token(tokenFrom, deadline.signal);
      try {
        const response = await this.http.request({
          method: request.method,
          url: request.path,
          params: request.params,
          data: request.body,
          headers: { Authorization: `Bearer ${token}` },
          signal: deadline.signal,
        });
        const headers = { ...response.headers } as Record<string, unknown>;
        return { status: response.status, headers, data: response.data, retryAfterMs: retryAfterOf(headers) };
      } catch (error) {
        if (deadline.signal.aborted)
          throw new NoAnswerError('timeout', `no complete answer within ${deadlineMs} ms`);
        throw new NoAnswerError(
          noAnswerCauseOf(error),
          error instanceof Error ? error.message : String(error),
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async token(from: TokenOrigin, deadline: AbortSignal): Promise<string> {
    const { scope, timeoutMs } = this.options;
    if (from === 'cache' && this.held && this.clock.now() < renewalDue(this.held)) return this.held.token;
    const unavailable = (why: string) => new TokenUnavailableError(`no token for ${scope}: ${why}`);
    let accessToken: AccessToken | null;
    try {
      accessToken = await beforeAbort(this.tokenFetch(from), deadline);
    } catch (error) {
      if (deadline.aborted) throw unavailable(`the identity endpoint did not answer within ${timeoutMs} ms`);
      // A fixed text and the error's class only: the library quotes the identity endpoint's answer,
      // which reaches outcomes, dead-letter records and incident comments from here.
      throw unavailable(
        `the identity endpoint refused or failed (${errorClassOf(error)}; AZURE_LOG_LEVEL=info logs the library's details)`,
      );
    }
    if (!accessToken) throw unavailable('the credential returned none');
    return accessToken.token;
  }

  /** A credential without `getFreshToken` answers both origins from `getToken`. */
  private tokenFetch(from: TokenOrigin): Promise<AccessToken | null> {
    const running = this.tokenFetches.get(from);
    if (running) return running;
    const { credential, scope } = this.options;
    let started: Promise<AccessToken | null>;
    if (from === 'identity-endpoint') {
      this.freshFetches += 1;
      this.held = null;
      started = credential.getFreshToken ? credential.getFreshToken(scope) : credential.getToken(scope);
    } else {
      const freshFetchesBefore = this.freshFetches;
      const holdable = !this.tokenFetches.has('identity-endpoint');
      started = credential.getToken(scope).then((token) => {
        if (holdable && this.freshFetches === freshFetchesBefore) this.held = token;
        return token;
      });
    }
    started = started.finally(() => this.tokenFetches.delete(from));
    // Rejections reach every waiter through their own await; this copy only keeps the map's.
    started.catch(() => undefined);
    this.tokenFetches.set(from, started);
    return started;
  }
}

/** When a token is due for renewal: its own refresh time, or the renewal margin before it expires. */
function renewalDue(token: AccessToken): number {
  return Math.min(
    token.expiresOnTimestamp - TOKEN_RENEWAL_MARGIN_MS,
    token.refreshAfterTimestamp ?? Infinity,
  );
}

function noAnswerCauseOf(error: unknown): NoAnswerCause {
  if (!(error instanceof AxiosError)) return 'network';
  if (error.code === AxiosError.ECONNABORTED || error.code === AxiosError.ETIMEDOUT) return 'timeout';
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return 'connection-reset';
  if (error.code === 'ECONNREFUSED') return 'connection-refused';
  return 'network';
}

/** `work`, unless `signal` aborts first; the work is left to settle on its own. */
function beforeAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  return Promise.race([work, aborted]);
}

/** The name of an error's class, when it looks like one; never text taken from an answer. */
function errorClassOf(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  return /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? name : 'Error';
}

/** The `Retry-After` of a header set (lower-case names, as Node gives them), in ms from `now`. */
export function retryAfterOf(headers: Record<string, unknown>, now: number = Date.now()): number | null {
  const value = headers['retry-after'];
  return parseRetryAfter(typeof value === 'string' ? value : undefined, now);
}

/**
 * `Retry-After` as delay-seconds or an HTTP-date, in ms from `now`; null when absent or unreadable.
 * An HTTP-date always starts with a day name; requiring it keeps Date.parse from reading a negative
 * number or a bare year as a date.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  if (!/^[A-Za-z]{3}/.test(text)) return null;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}
