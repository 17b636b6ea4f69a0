/**
 * The axios implementation of MdeApi. It validates every identifier before a call, spends exactly one
 * quota unit per HTTP request (each request passes through the optional `schedule` hook, where the
 * dispatch layer puts its quota budget), and turns every failure into a typed error.
 *
 * It never retries on its own except once after a 401: a 401 means MDE did not execute the call, so
 * fetching a token past every cache and resending is safe for POSTs too. Any other retry belongs to
 * the dispatch layer, which first checks whether an action already exists.
 */
import type { AccessToken } from '@azure/identity';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { AppConfig } from '../config';
import type { IsolationType } from '../kernel/vocabulary';
import type { MachineActionFilter, MdeApi, MdeApiName } from './api';
import { type AppCredential, createCredential } from './credential';
import { errorFromNetwork, errorFromResponse, type FailedCall } from './error-mapping';
import { InvalidIdError, type MdeErrorDetails, NotFoundError, TransientError } from './errors';
import { canonicalGuid, canonicalIp, canonicalMachineId } from './ids';
import { odataAnyOf, odataDateTime, odataEq, odataString } from './odata';
import {
  MACHINE_ACTION_STATUSES,
  MACHINE_ACTION_TYPES,
  type Machine,
  type MachineAction,
  type MachineActionStatus,
  type MachineActionType,
} from './types';

export type MdeOperation = keyof MdeApi;

/** Which quota family each operation spends (docs/mde-api.md §4). */
const MDE_OPERATION_APIS: Readonly<Record<MdeOperation, MdeApiName>> = {
  getMachine: 'machines',
  findMachinesByDnsName: 'machines',
  findMachinesByHostname: 'machines',
  findMachinesByAadDeviceId: 'machines',
  findMachinesByIp: 'machines',
  findMachinesByTag: 'machines',
  isolate: 'isolate',
  release: 'unisolate',
  getMachineAction: 'machineactions',
  listMachineActions: 'machineactions',
};

export interface MdeCall extends FailedCall {
  operation: MdeOperation;
}

/**
 * Runs one HTTP request. Called once per request actually sent (a 401 resend is a second call), so
 * a limiter placed here counts exactly what MDE counts. It must call `send` at most once.
 */
export type MdeCallScheduler = <T>(call: MdeCall, send: () => Promise<T>) => Promise<T>;

export interface MdeClientOptions {
  /** Defaults to createCredential(config); pass the process-wide one. */
  credential?: AppCredential;
  schedule?: MdeCallScheduler;
}

export type MdeClientConfig = Pick<
  AppConfig,
  'apiBaseUrl' | 'tokenScope' | 'requestTimeoutMs' | 'managedIdentityClientId' | 'authorityHost'
>;

/** The MDE list maximum for `$top` (docs/mde-api.md §7.3, §8.3). */
const MAX_PAGE_SIZE = 10_000;
const LOOKUP_TOP = 100;

interface Request {
  call: MdeCall;
  path: string;
  params?: Record<string, string>;
  body?: unknown;
}

type ODataList<T> = { value?: T[] };

function withoutODataContext<T>(entity: T & { '@odata.context'?: unknown }): T {
  const { '@odata.context': _context, ...rest } = entity;
  return rest as T;
}

/** Sort key of an MDE timestamp; an unreadable one sorts last. */
function timeOf(timestamp: string): number {
  const time = Date.parse(timestamp);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

const callOf = (operation: MdeOperation): MdeCall => ({
  api: MDE_OPERATION_APIS[operation],
  operation,
  method: operation === 'isolate' || operation === 'release' ? 'POST' : 'GET',
});

function detailsOf(call: MdeCall): MdeErrorDetails {
  return { operation: call.operation, api: call.api };
}

function requireValue(
  operation: MdeOperation,
  field: string,
  value: string,
  canonical: (value: string) => string | null,
  expected: string,
): string {
  const result = canonical(value);
  if (result === null) throw new InvalidIdError(field, value, expected, detailsOf(callOf(operation)));
  return result;
}

function requireMachineId(operation: MdeOperation, machineId: string): string {
  return requireValue(operation, 'machineId', machineId, canonicalMachineId, 'an MDE machine id (40 hex)');
}

function requireName(operation: MdeOperation, field: string, value: string, allowDots: boolean): string {
  const name = typeof value === 'string' ? value.trim() : '';
  const valid = name.length > 0 && name.length <= 255 && !/[\s\p{Cc}]/u.test(name);
  if (!valid || (!allowDots && name.includes('.'))) {
    const expected = allowDots
      ? 'a DNS name (1-255 characters, no spaces)'
      : 'a short host name without dots (use the DNS name lookup for an FQDN)';
    throw new InvalidIdError(field, value, expected, detailsOf(callOf(operation)));
  }
  return name;
}

function requireEnumValues<T extends string>(
  field: string,
  given: T | T[] | undefined,
  allowed: readonly string[],
): T[] {
  const values = given === undefined ? [] : Array.isArray(given) ? given : [given];
  for (const value of values) {
    if (!allowed.includes(value)) {
      throw new InvalidIdError(
        field,
        value,
        `one of ${allowed.join(', ')}`,
        detailsOf(callOf('listMachineActions')),
      );
    }
  }
  return values;
}

export class MdeClient implements MdeApi {
  private readonly http: AxiosInstance;
  /**
   * The token fetch in progress, per origin, shared by every request that needs one meanwhile: a
   * request gives up on it at its deadline, but the fetch itself cannot be cancelled, so an identity
   * endpoint that never answers holds one connection, not one per attempt.
   */
  private readonly tokenFetches = new Map<TokenOrigin, Promise<AccessToken | null>>();

  constructor(
    private readonly config: MdeClientConfig,
    private readonly credential: AppCredential,
    private readonly schedule: MdeCallScheduler = (_call, send) => send(),
  ) {
    this.http = axios.create({
      baseURL: config.apiBaseUrl,
      timeout: config.requestTimeoutMs,
      maxRedirects: 0,
      // Every status is mapped to a typed error below, with the MDE body at hand.
      validateStatus: () => true,
      headers: { Accept: 'application/json' },
    });
  }

  async getMachine(machineId: string): Promise<Machine> {
    const id = requireMachineId('getMachine', machineId);
    return this.sendEntity<Machine>({ call: callOf('getMachine'), path: `/api/machines/${id}` });
  }

  async findMachinesByDnsName(dnsName: string): Promise<Machine[]> {
    const name = requireName('findMachinesByDnsName', 'dnsName', dnsName, true).toLowerCase();
    const machines = await this.listMachines('findMachinesByDnsName', odataEq('computerDnsName', name));
    return machines.filter((m) => m.computerDnsName?.toLowerCase() === name);
  }

  async findMachinesByHostname(hostname: string): Promise<Machine[]> {
    const host = requireName('findMachinesByHostname', 'hostname', hostname, false).toLowerCase();
    const filter = `${odataEq('computerDnsName', host)} or startswith(computerDnsName,${odataString(`${host}.`)})`;
    const machines = await this.listMachines('findMachinesByHostname', filter);
    // The server filter is only a pre-selection; the exact rule is applied here (web1 is not web10).
    return machines.filter((m) => {
      const dns = m.computerDnsName?.toLowerCase();
      return dns === host || (dns?.startsWith(`${host}.`) ?? false);
    });
  }

  async findMachinesByAadDeviceId(aadDeviceId: string): Promise<Machine[]> {
    const id = requireValue(
      'findMachinesByAadDeviceId',
      'aadDeviceId',
      aadDeviceId,
      canonicalGuid,
      'an Entra device id (GUID)',
    );
    const machines = await this.listMachines('findMachinesByAadDeviceId', odataEq('aadDeviceId', id));
    return machines.filter((m) => m.aadDeviceId?.toLowerCase() === id);
  }

  async findMachinesByIp(ip: string, at: Date = new Date()): Promise<Machine[]> {
    const call = callOf('findMachinesByIp');
    const address = requireValue('findMachinesByIp', 'ip', ip, canonicalIp, 'an IPv4 or IPv6 address');
    if (Number.isNaN(at.getTime()))
      throw new InvalidIdError('at', String(at), 'a valid date', detailsOf(call));
    const path = `/api/machines/findbyip(ip=${odataString(address)},timestamp=${odataDateTime(at)})`;
    return this.sendList<Machine>({ call, path });
  }

  async findMachinesByTag(tag: string, options: { startsWith?: boolean } = {}): Promise<Machine[]> {
    const call = callOf('findMachinesByTag');
    const value = typeof tag === 'string' ? tag.trim() : '';
    if (!value) throw new InvalidIdError('tag', tag, 'a non-empty tag', detailsOf(call));
    const startsWith = options.startsWith ?? false;
    const machines = await this.sendList<Machine>({
      call,
      path: '/api/machines/findbytag',
      params: { tag: value, useStartsWithFilter: String(startsWith) },
    });
    const wanted = value.toLowerCase();
    return machines.filter((m) =>
      m.machineTags.some((t) =>
        startsWith ? t.toLowerCase().startsWith(wanted) : t.toLowerCase() === wanted,
      ),
    );
  }

  async isolate(machineId: string, comment: string, isolationType: IsolationType): Promise<MachineAction> {
    const call = callOf('isolate');
    const id = requireMachineId('isolate', machineId);
    if (isolationType !== 'Full' && isolationType !== 'Selective')
      throw new InvalidIdError('isolationType', String(isolationType), 'Full or Selective', detailsOf(call));
    const body = { Comment: this.requireComment(call, comment), IsolationType: isolationType };
    return this.sendEntity<MachineAction>({ call, path: `/api/machines/${id}/isolate`, body });
  }

  async release(machineId: string, comment: string): Promise<MachineAction> {
    const call = callOf('release');
    const id = requireMachineId('release', machineId);
    const body = { Comment: this.requireComment(call, comment) };
    return this.sendEntity<MachineAction>({ call, path: `/api/machines/${id}/unisolate`, body });
  }

  async getMachineAction(actionId: string): Promise<MachineAction> {
    const id = requireValue(
      'getMachineAction',
      'actionId',
      actionId,
      canonicalGuid,
      'a machine action id (GUID)',
    );
    return this.sendEntity<MachineAction>({
      call: callOf('getMachineAction'),
      path: `/api/machineactions/${id}`,
    });
  }

  async listMachineActions(filter: MachineActionFilter): Promise<MachineAction[]> {
    const call = callOf('listMachineActions');
    const clauses: string[] = [];
    if (filter.machineId !== undefined) {
      const id = requireMachineId('listMachineActions', filter.machineId);
      clauses.push(odataEq('machineId', id));
    }
    const types = requireEnumValues<MachineActionType>('type', filter.type, MACHINE_ACTION_TYPES);
    if (types.length > 0) clauses.push(odataAnyOf('type', types));
    const statuses = requireEnumValues<MachineActionStatus>('status', filter.status, MACHINE_ACTION_STATUSES);
    if (statuses.length > 0) clauses.push(odataAnyOf('status', statuses));
    if (filter.createdSince !== undefined) {
      if (Number.isNaN(filter.createdSince.getTime()))
        throw new InvalidIdError(
          'createdSince',
          String(filter.createdSince),
          'a valid date',
          detailsOf(call),
        );
      clauses.push(`creationDateTimeUtc ge ${odataDateTime(filter.createdSince)}`);
    }
    const params: Record<string, string> = {};
    if (clauses.length > 0) params.$filter = clauses.join(' and ');
    if (filter.top !== undefined) {
      if (!Number.isInteger(filter.top) || filter.top < 1 || filter.top > MAX_PAGE_SIZE)
        throw new InvalidIdError(
          'top',
          String(filter.top),
          `a whole number from 1 to ${MAX_PAGE_SIZE}`,
          detailsOf(call),
        );
      params.$top = String(filter.top);
    }
    const actions = await this.sendList<MachineAction>({ call, path: '/api/machineactions', params });
    // The interface promises newest first; MDE's default order is only implied by a doc example (§12).
    return actions.sort((a, b) => timeOf(b.creationDateTimeUtc) - timeOf(a.creationDateTimeUtc));
  }

  private requireComment(call: MdeCall, comment: string): string {
    const text = typeof comment === 'string' ? comment.trim() : '';
    if (!text)
      throw new InvalidIdError('comment', comment, 'a non-empty comment (MDE requires one)', detailsOf(call));
    return text;
  }

  /** GET /api/machines with a filter; MDE answers 404 rather than an empty list when nothing matches. */
  private async listMachines(operation: MdeOperation, filter: string): Promise<Machine[]> {
    try {
      return await this.sendList<Machine>({
        call: callOf(operation),
        path: '/api/machines',
        params: { $filter: filter, $top: String(LOOKUP_TOP) },
      });
    } catch (error) {
      if (error instanceof NotFoundError) return [];
      throw error;
    }
  }

  /** A single entity; a 2xx without one (a proxy page, an empty body) is a server failure. */
  private async sendEntity<T extends { id: string }>(request: Request): Promise<T> {
    const data = await this.send<T & { '@odata.context'?: unknown }>(request);
    if (data === null || typeof data !== 'object' || typeof data.id !== 'string') {
      throw new TransientError(
        `MDE ${request.call.operation} answered without an entity`,
        detailsOf(request.call),
        'server-error',
        // A 2xx to a POST means MDE accepted it: the action may exist.
        request.call.method === 'POST',
      );
    }
    return withoutODataContext(data);
  }

  private async sendList<T>(request: Request): Promise<T[]> {
    const data = await this.send<ODataList<T>>(request);
    if (!Array.isArray(data?.value)) {
      throw new TransientError(
        `MDE ${request.call.operation} answered without a value list`,
        detailsOf(request.call),
        'server-error',
        false,
      );
    }
    return data.value;
  }

  private async send<T>(request: Request): Promise<T> {
    let response = await this.attempt(request, 'cache');
    // The cached token may have been revoked or rolled over: the resend asks the identity endpoint.
    if (response.status === 401) response = await this.attempt(request, 'identity-endpoint');
    if (response.status >= 200 && response.status < 300) return response.data as T;
    throw errorFromResponse(request.call, response.status, response.data, response.headers);
  }

  /**
   * One HTTP request through the scheduler. The token is taken inside the scheduled function, so a
   * request that waited in a limiter queue still leaves with a token that is fresh from the cache.
   * One deadline bounds the whole attempt, token included: an identity endpoint that never answers
   * must not hold a limiter slot longer than a slow MDE would. axios's own `timeout` only notices an
   * idle socket (a slowly trickling answer never trips it), so an abort signal bounds the exchange
   * from sending to the last byte.
   */
  private attempt(request: Request, tokenFrom: TokenOrigin): Promise<AxiosResponse> {
    return this.schedule(request.call, async () => {
      const deadlineMs = this.config.requestTimeoutMs;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), deadlineMs);
      try {
        const token = await this.token(request.call, tokenFrom, deadline.signal);
        try {
          return await this.http.request({
            method: request.call.method,
            url: request.path,
            params: request.params,
            data: request.body,
            headers: { Authorization: `Bearer ${token}` },
            signal: deadline.signal,
          });
        } catch (error) {
          throw errorFromNetwork(request.call, error, deadline.signal.aborted ? deadlineMs : undefined);
        }
      } finally {
        clearTimeout(timer);
      }
    });
  }

  private async token(call: MdeCall, from: TokenOrigin, deadline: AbortSignal): Promise<string> {
    const scope = this.config.tokenScope;
    const fetching = this.tokenFetch(from);
    const unavailable = (why: string) =>
      new TransientError(`no token for ${scope}: ${why}`, detailsOf(call), 'token-unavailable', false);
    try {
      const accessToken = await beforeAbort(fetching, deadline);
      if (!accessToken) throw unavailable('the credential returned none');
      return accessToken.token;
    } catch (error) {
      if (error instanceof TransientError) throw error;
      if (deadline.aborted)
        throw unavailable(`the identity endpoint did not answer within ${this.config.requestTimeoutMs} ms`);
      // A fixed text and the error's class only: the library quotes the identity endpoint's answer,
      // which reaches outcomes, dead-letter records and incident comments from here.
      throw unavailable(
        `the identity endpoint refused or failed (${errorClassOf(error)}; AZURE_LOG_LEVEL=info logs the library's details)`,
      );
    }
  }

  private tokenFetch(from: TokenOrigin): Promise<AccessToken | null> {
    const running = this.tokenFetches.get(from);
    if (running) return running;
    const scope = this.config.tokenScope;
    const started = (
      from === 'cache' ? this.credential.getToken(scope) : this.credential.getFreshToken(scope)
    ).finally(() => this.tokenFetches.delete(from));
    // Rejections reach every waiter through their own await; this copy only keeps the map's.
    started.catch(() => undefined);
    this.tokenFetches.set(from, started);
    return started;
  }
}

/** Where a request's token comes from: the credential's cache, or the identity endpoint itself. */
type TokenOrigin = 'cache' | 'identity-endpoint';

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

/** The client for a deployment: one per process, sharing the process-wide credential. */
export function createMdeClient(config: MdeClientConfig, options: MdeClientOptions = {}): MdeClient {
  return new MdeClient(config, options.credential ?? createCredential(config), options.schedule);
}
