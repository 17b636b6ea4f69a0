/**
 * MdeApi over HTTP. Each operation checks its arguments (validate.ts), builds its request
 * (requests.ts), sends it through the shared JSON client, turns any failure into a typed error
 * (error-mapping.ts) and narrows the answer (answers.ts). Each HTTP request spends exactly one quota
 * unit and passes through the optional `schedule` hook, where the dispatch layer puts its budget.
 *
 * It never retries on its own except once after a 401: a 401 means MDE did not execute the call, so
 * fetching a token past every cache and resending is safe for POSTs too. Any other retry belongs to
 * the dispatch layer, which first checks whether an action already exists.
 */
import type { AppConfig } from '../config';
import { JsonClient, type JsonResponse, type TokenOrigin } from '../http/json-client';
import type { MdeIsolationType } from '../kernel/vocabulary';
import {
  newestFirst,
  withAadDeviceId,
  withDnsName,
  withHostname,
  withoutODataContext,
  withTag,
} from './answers';
import type { MachineActionFilter, MdeApi } from './api';
import { type AppCredential, createCredential } from './credential';
import { errorBeforeAnswer, errorFromResponse } from './error-mapping';
import { NotFoundError, TransientError } from './errors';
import {
  cancelMachineActionRequest,
  getMachineActionRequest,
  getMachineRequest,
  isolateRequest,
  listMachineActionsRequest,
  type MdeCall,
  type MdeRequest,
  machinesByAadDeviceIdRequest,
  machinesByDnsNameRequest,
  machinesByHostnameRequest,
  machinesByIpRequest,
  machinesByTagRequest,
  releaseRequest,
} from './requests';
import type { Machine, MachineAction } from './types';
import {
  requireComment,
  requireDate,
  requireDnsName,
  requireGuid,
  requireHostname,
  requireIp,
  requireIsolationType,
  requireMachineActionQuery,
  requireMachineId,
  requireTag,
} from './validate';

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

type ODataList<T> = { value?: T[]; '@odata.nextLink'?: unknown };

/**
 * Pages one list may take (each page is a call and holds up to 10,000 entries, docs/mde-api.md §7.3):
 * a bound on memory and on the quota one read may spend.
 */
export const MAX_LIST_PAGES = 20;

export class MdeClient implements MdeApi {
  private readonly http: JsonClient;
  private readonly baseUrl: string;

  constructor(
    config: MdeClientConfig,
    credential: AppCredential,
    private readonly schedule: MdeCallScheduler = (_call, send) => send(),
  ) {
    this.baseUrl = config.apiBaseUrl;
    this.http = new JsonClient({
      baseUrl: config.apiBaseUrl,
      scope: config.tokenScope,
      credential,
      timeoutMs: config.requestTimeoutMs,
    });
  }

  async getMachine(machineId: string): Promise<Machine> {
    return this.sendEntity<Machine>(getMachineRequest(requireMachineId('getMachine', machineId)));
  }

  async findMachinesByDnsName(dnsName: string): Promise<Machine[]> {
    const name = requireDnsName('findMachinesByDnsName', dnsName);
    return withDnsName(await this.listMachines(machinesByDnsNameRequest(name)), name);
  }

  async findMachinesByHostname(hostname: string): Promise<Machine[]> {
    const host = requireHostname('findMachinesByHostname', hostname);
    return withHostname(await this.listMachines(machinesByHostnameRequest(host)), host);
  }

  async findMachinesByAadDeviceId(aadDeviceId: string): Promise<Machine[]> {
    const operation = 'findMachinesByAadDeviceId';
    const id = requireGuid(operation, 'aadDeviceId', aadDeviceId, 'an Entra device id (GUID)');
    return withAadDeviceId(await this.listMachines(machinesByAadDeviceIdRequest(id)), id);
  }

  async findMachinesByIp(ip: string, at: Date = new Date()): Promise<Machine[]> {
    const address = requireIp('findMachinesByIp', ip);
    const when = requireDate('findMachinesByIp', 'at', at);
    return this.sendList<Machine>(machinesByIpRequest(address, when));
  }

  async findMachinesByTag(tag: string, options: { startsWith?: boolean } = {}): Promise<Machine[]> {
    const value = requireTag('findMachinesByTag', tag);
    const startsWith = options.startsWith ?? false;
    return withTag(await this.sendList<Machine>(machinesByTagRequest(value, startsWith)), value, startsWith);
  }

  async isolate(machineId: string, comment: string, isolationType: MdeIsolationType): Promise<MachineAction> {
    const id = requireMachineId('isolate', machineId);
    const type = requireIsolationType('isolate', isolationType);
    return this.sendEntity<MachineAction>(isolateRequest(id, requireComment('isolate', comment), type));
  }

  async release(machineId: string, comment: string): Promise<MachineAction> {
    const id = requireMachineId('release', machineId);
    return this.sendEntity<MachineAction>(releaseRequest(id, requireComment('release', comment)));
  }

  async getMachineAction(actionId: string): Promise<MachineAction> {
    const id = requireGuid('getMachineAction', 'actionId', actionId, 'a machine action id (GUID)');
    return this.sendEntity<MachineAction>(getMachineActionRequest(id));
  }

  async cancelMachineAction(actionId: string, comment: string): Promise<MachineAction> {
    const operation = 'cancelMachineAction';
    const id = requireGuid(operation, 'actionId', actionId, 'a machine action id (GUID)');
    return this.sendEntity<MachineAction>(cancelMachineActionRequest(id, requireComment(operation, comment)));
  }

  async listMachineActions(filter: MachineActionFilter): Promise<MachineAction[]> {
    const request = listMachineActionsRequest(requireMachineActionQuery(filter));
    return newestFirst(await this.sendPages<MachineAction>(request));
  }

  /** GET /api/machines with a filter; MDE answers 404 rather than an empty list when nothing matches. */
  private async listMachines(request: MdeRequest): Promise<Machine[]> {
    try {
      return await this.sendList<Machine>(request);
    } catch (error) {
      if (error instanceof NotFoundError) return [];
      throw error;
    }
  }

  /** A single entity; a 2xx without one (a proxy page, an empty body) is a server failure. */
  private async sendEntity<T extends { id: string }>(request: MdeRequest): Promise<T> {
    const data = (await this.send(request)) as (T & { '@odata.context'?: unknown }) | null;
    if (data === null || typeof data !== 'object' || typeof data.id !== 'string') {
      throw new TransientError(
        `MDE ${request.call.operation} answered without an entity`,
        { operation: request.call.operation, api: request.call.api },
        'server-error',
        // A 2xx to a POST means MDE accepted it: the action may exist.
        request.call.method === 'POST',
      );
    }
    return withoutODataContext(data);
  }

  private async sendList<T>(request: MdeRequest): Promise<T[]> {
    const data = (await this.send(request)) as ODataList<T> | null;
    if (!Array.isArray(data?.value)) throw this.noValueList(request);
    return data.value;
  }

  /**
   * A list and the pages MDE links after it (`@odata.nextLink`, docs/mde-api.md §7.3). A link is only
   * followed below the API's base URL: the bearer token never goes anywhere else.
   */
  private async sendPages<T>(first: MdeRequest): Promise<T[]> {
    const items: T[] = [];
    let request: MdeRequest | null = first;
    for (let page = 1; request !== null; page += 1) {
      if (page > MAX_LIST_PAGES)
        throw new TransientError(
          `MDE ${first.call.operation} answered more than ${MAX_LIST_PAGES} pages; narrow the query`,
          { operation: first.call.operation, api: first.call.api },
          'server-error',
          false,
        );
      const data = (await this.send(request)) as ODataList<T> | null;
      if (!Array.isArray(data?.value)) throw this.noValueList(request);
      items.push(...data.value);
      const next = data['@odata.nextLink'];
      request = next === undefined || next === null ? null : this.nextPage(first, next);
    }
    return items;
  }

  /** The request of a nextLink, or a server failure when it is not a URL below the base URL. */
  private nextPage(first: MdeRequest, link: unknown): MdeRequest {
    const base = this.baseUrl.replace(/\/+$/, '');
    const url = typeof link === 'string' && link.startsWith(`${base}/`) ? new URL(link) : null;
    if (url === null)
      throw new TransientError(
        `MDE ${first.call.operation} answered a nextLink outside ${base}; not followed`,
        { operation: first.call.operation, api: first.call.api },
        'server-error',
        false,
      );
    return {
      call: first.call,
      path: url.pathname.slice(new URL(base).pathname.replace(/\/+$/, '').length),
      params: Object.fromEntries(url.searchParams),
    };
  }

  private noValueList(request: MdeRequest): TransientError {
    return new TransientError(
      `MDE ${request.call.operation} answered without a value list`,
      { operation: request.call.operation, api: request.call.api },
      'server-error',
      false,
    );
  }

  /** The body of a 2xx answer; any other answer or failure as a typed error. */
  private async send(request: MdeRequest): Promise<unknown> {
    let response = await this.attempt(request, 'cache');
    // The cached token may have been revoked or rolled over: the resend asks the identity endpoint.
    if (response.status === 401) response = await this.attempt(request, 'identity-endpoint');
    if (response.status >= 200 && response.status < 300) return response.data;
    throw errorFromResponse(request.call, response.status, response.data, response.headers);
  }

  /**
   * One HTTP request through the scheduler. The token is taken inside the scheduled function, so a
   * request that waited in a limiter queue still leaves with a token that is fresh from the cache,
   * and the exchange's one deadline (token included) never holds a limiter slot longer than a slow
   * MDE would.
   */
  private attempt(request: MdeRequest, tokenFrom: TokenOrigin): Promise<JsonResponse> {
    const { call, ...exchange } = request;
    return this.schedule(call, async () => {
      try {
        return await this.http.exchange({ method: call.method, ...exchange }, tokenFrom);
      } catch (error) {
        throw errorBeforeAnswer(call, error);
      }
    });
  }
}

/** The client for a deployment: one per process, sharing the process-wide credential. */
export function createMdeClient(config: MdeClientConfig, options: MdeClientOptions = {}): MdeClient {
  return new MdeClient(config, options.credential ?? createCredential(config), options.schedule);
}
