/**
 * A local stand-in for the Defender for Endpoint API and the App Service managed identity endpoint,
 * on loopback, so the real client and the real @azure/identity code run against it in tests, the
 * demo and `func start`; and, under `/subscriptions/`, for ARM's Sentinel incidents (sentinel.ts). It is written from docs/mde-api.md, not from the client.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_RATE_LIMITS, parseRateLimits } from '../shared/config';
import { errorMessage } from '../shared/kernel/errors';
import { MDE_APIS, type MdeApiName } from '../shared/mde/api';
import { type ActionEntity, ActionStore, type LifecycleOptions } from './actions';
import { type ApiResult, MAX_PAGE_SIZE, mdeError, routeFor } from './api';
import { FaultInjector, type FaultOptions } from './faults';
import {
  buildFleet,
  buildMachine,
  type FleetOptions,
  type MachineEntity,
  type MachineSeed,
  type MachineTraits,
  type SimMachine,
} from './fleet';
import { SlidingWindowQuota } from './quota';
import { SentinelIncidents, type SimIncidentReads, type SimIncidentStatus } from './sentinel';
import { type Identity, issueToken, SYSTEM_IDENTITY, TokenAuthority } from './tokens';

export type { LifecycleOptions } from './actions';
export type { FaultOptions } from './faults';
export { CURATED_MACHINES, type FleetOptions, type MachineSeed, type MachineTraits } from './fleet';
export type { SimIncidentReads, SimIncidentStatus } from './sentinel';

const IDENTITY_PATH = '/msi/token';
/** Simulator extension: read-only JSON view of machines, actions and call counts. */
const STATE_PATH = '/_simulator/state';
/** Where the ARM stand-in answers: every ARM resource id starts so. */
const ARM_PATH = '/subscriptions/';
const DEFAULT_ROLES = ['Machine.Isolate', 'Machine.Read.All'];
/** Audiences MDE accepts for commercial-cloud app tokens (docs/mde-api.md §2). */
const DEFAULT_AUDIENCES = [
  'https://api.securitycenter.microsoft.com',
  'https://securitycenter.onmicrosoft.com/windowsatpservice',
];
export const SYSTEM_IDENTITY_CLIENT_ID = '5e0b6c2a-1c1d-4c8e-9a57-2f1f5c9d0e11';
const REQUIRED_ROLES: Record<MdeApiName, string[]> = {
  isolate: ['Machine.Isolate'],
  unisolate: ['Machine.Isolate'],
  machines: ['Machine.Read.All', 'Machine.ReadWrite.All'],
  machineactions: ['Machine.Read.All', 'Machine.ReadWrite.All'],
  // Any action permission may cancel (docs/mde-api.md §2).
  cancel: ['Machine.Isolate', 'Machine.ReadWrite.All'],
};
const MAX_BODY_BYTES = 1024 * 1024;

export interface SimulatorOptions {
  /** Default 0 (any free port). */
  port?: number;
  host?: string;
  fleet?: FleetOptions;
  /** App roles of the system-assigned identity on WindowsDefenderATP. */
  roles?: string[];
  /** User-assigned identities: client id → app roles. */
  userAssignedIdentities?: Record<string, string[]>;
  acceptedAudiences?: string[];
  /** Quota of every API family, in MDE_RATE_LIMITS syntax (default 100/60s,1500/1h). */
  rateLimits?: string;
  lifecycle?: LifecycleOptions;
  faults?: FaultOptions;
  tokenLifetimeSeconds?: number;
  /** Entries per page of a list answer, at most (and by default) MDE's 10,000; lower to test paging. */
  listPageSize?: number;
  /**
   * The Entra tenant this MDE belongs to: its identity endpoint issues that tenant's tokens, and its API
   * refuses with 401 a token naming any other `tid`, as MDE does (docs/mde-api.md §18). Default
   * DEFAULT_SIMULATED_TENANT, the one tenant every simulator played before there were tenants.
   */
  tenantId?: string;
  /**
   * The secret the identity endpoint expects in X-IDENTITY-HEADER; random when not given. `npm run dev`
   * fixes it so the local.settings.json it wrote stays valid across restarts.
   */
  identityHeader?: string;
}

/** How the identity endpoint misbehaves, for tests of the token path. */
export type IdentityFault =
  /** Holds every token request without an answer until the fault is lifted, then answers it. */
  | { kind: 'hang' }
  /** Answers every token request with this status and raw body (any text: HTML, JSON, garbage). */
  | { kind: 'error'; status: number; body: string };

export interface RecordedCall {
  method: string;
  /** Path and query as received. */
  path: string;
  /**
   * Quota family of the call; `token` for the identity endpoint; `arm` for the ARM stand-in (Sentinel
   * incidents); null for unknown paths.
   */
  api: MdeApiName | 'token' | 'arm' | null;
  /** HTTP status sent; null when the connection was dropped on purpose. */
  status: number | null;
  /** Simulator clock (ms since epoch, including advanceTime). */
  timeMs: number;
}

export interface MachineState {
  id: string;
  computerDnsName: string | null;
  isolated: boolean;
  isolationType: string | null;
  offline: boolean;
  openAction: ActionEntity | null;
  /** This device's isolate/unisolate actions, newest first. */
  actions: ActionEntity[];
}

export type DefenderRequestor = 'attack-disruption' | 'custom-detection';

export interface MachinePatch {
  entity?: Partial<MachineEntity>;
  traits?: Partial<MachineTraits>;
}

export interface RunningSimulator {
  baseUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  /** IDENTITY_ENDPOINT, IDENTITY_HEADER and MDE_API_URL pointing the app at this simulator. */
  env(): Record<string, string>;
  calls(): RecordedCall[];
  resetCalls(): void;
  machines(): MachineEntity[];
  machineState(id: string): MachineState | undefined;
  actions(): ActionEntity[];
  setFaults(faults: FaultOptions): void;
  setRateLimits(rateLimits: string): void;
  /** Roles for tokens issued from now on (tokens already issued keep theirs, as with Entra). */
  setRoles(roles: string[], clientId?: string): void;
  /** Every token issued so far is refused with 401 from now on. */
  revokeTokens(): void;
  /** While on, every token is refused with 401, new ones too (MDE does not accept the app's tenant). */
  refuseTokens(refuse: boolean): void;
  /** Makes the identity endpoint misbehave until called with null. */
  setIdentityFault(fault: IdentityFault | null): void;
  setMachine(id: string, patch: MachinePatch): void;
  addMachine(seed: MachineSeed, entity?: Partial<MachineEntity>): MachineEntity;
  /**
   * A person's isolate (Full) or release in the Defender portal: `requestor` is the person, not an
   * app, and `requestSource` "Portal" (the simulator's choice: docs/mde-api.md §7.1 documents only
   * "PublicApi"). Throws while an isolate or release is under way on the device, as MDE refuses it.
   * `ageMs`: created that long ago (an older action, settled by now).
   */
  portalAction(
    machineId: string,
    type: 'Isolate' | 'Unisolate',
    person: { requestor: string; comment: string; ageMs?: number },
  ): ActionEntity;
  /**
   * An isolation Defender makes on its own: automatic attack disruption, or a custom detection rule's
   * response action. MDE documents neither's `requestor`; the simulator's choice (docs/mde-api.md §16):
   * "Automatic attack disruption" with `requestSource` "AttackDisruption", or "Custom detection: <rule>"
   * with "CustomDetection". Throws while an isolate or release is under way on the device.
   */
  defenderAction(
    machineId: string,
    by: DefenderRequestor,
    options?: { rule?: string; ageMs?: number },
  ): ActionEntity;
  /** A Sentinel incident on the ARM stand-in (`/subscriptions/…`), with `status`; answers its ARM id. */
  addIncident(status: SimIncidentStatus, title?: string): string;
  /** An analyst moves the incident on (New, Active, Closed). */
  setIncidentStatus(incidentArmId: string, status: SimIncidentStatus): void;
  /**
   * How incident reads are answered from now on: `forbidden`, 403 AuthorizationFailed (the identity
   * has no role on the workspace); `unavailable`, 503 (ARM failing); `allowed` by default. With
   * `times`, only the next `times` reads, then `allowed` again.
   */
  setIncidentReads(reads: SimIncidentReads, times?: number): void;
  /** Moves the simulator clock (action lifecycle, quota windows, findbyip) forward. */
  advanceTime(ms: number): void;
  now(): number;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, result: ApiResult, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  response.writeHead(result.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(result.body));
}

/** Path segments after `/api` or `/api/v1.0`; null outside the API. */
function apiSegments(pathname: string): string[] | null {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] !== 'api') return null;
  const rest = parts[1]?.toLowerCase() === 'v1.0' ? parts.slice(2) : parts.slice(1);
  return rest.map((part) => decodeURIComponent(part));
}

const trimSlash = (value: string) => value.replace(/\/+$/, '').toLowerCase();

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  let clockOffsetMs = 0;
  const now = () => Date.now() + clockOffsetMs;
  const fleetSeed = options.fleet?.seed ?? 1;
  const machines: SimMachine[] = buildFleet(options.fleet ?? {}, now());
  const byId = new Map(machines.map((m) => [m.entity.id, m]));
  const actions = new ActionStore(options.lifecycle ?? {}, (id) => byId.get(id));
  const authority = new TokenAuthority(options.tenantId?.toLowerCase());
  const incidents = new SentinelIncidents();
  const identityHeader = options.identityHeader ?? randomBytes(16).toString('hex');
  const identities = new Map<string, Identity>([
    [SYSTEM_IDENTITY, { clientId: SYSTEM_IDENTITY_CLIENT_ID, roles: options.roles ?? DEFAULT_ROLES }],
  ]);
  for (const [clientId, roles] of Object.entries(options.userAssignedIdentities ?? {}))
    identities.set(clientId.toLowerCase(), { clientId: clientId.toLowerCase(), roles });
  const audiences = (options.acceptedAudiences ?? DEFAULT_AUDIENCES).map(trimSlash);
  const faults = new FaultInjector(options.faults);
  let identityFault: IdentityFault | null = null;
  /** Token requests held by a `hang` fault, answered when it is lifted. */
  const heldTokenRequests: (() => void)[] = [];
  const pageSize = Math.min(options.listPageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const recorded: RecordedCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let quotas = new Map<MdeApiName, SlidingWindowQuota>();
  const setRateLimits = (text: string) => {
    const windows = parseRateLimits(text);
    quotas = new Map(MDE_APIS.map((api) => [api, new SlidingWindowQuota(windows)]));
  };
  setRateLimits(options.rateLimits ?? DEFAULT_RATE_LIMITS);
  let baseUrl = '';

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const record = (request: IncomingMessage, api: RecordedCall['api'], status: number | null) =>
    recorded.push({ method: request.method ?? 'GET', path: request.url ?? '/', api, status, timeMs: now() });

  /** 401 for no or bad token, 403 for a wrong audience or missing role; otherwise the caller's app id. */
  function authorize(request: IncomingMessage, api: MdeApiName): { result: ApiResult } | { appId: string } {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/i.exec(header)?.[1];
    const claims = token ? authority.verify(token) : null;
    if (!claims)
      return { result: mdeError(401, 'Unauthorized', 'Authorization header is missing, invalid or expired') };
    if (!audiences.includes(trimSlash(claims.aud)))
      return {
        result: mdeError(403, 'Forbidden', `The token audience ${claims.aud} is not valid for this API`),
      };
    const required = REQUIRED_ROLES[api];
    if (!required.some((role) => claims.roles.includes(role))) {
      return {
        result: mdeError(
          403,
          'Forbidden',
          `Missing application roles. API required roles: ${required.join(',')}, application roles: ${claims.roles.join(',')}.`,
        ),
      };
    }
    return { appId: claims.appid };
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    let segments: string[] | null;
    try {
      segments = apiSegments(url.pathname);
    } catch {
      segments = null;
    }
    const route = segments ? routeFor(segments) : null;
    if (!segments || !route) {
      record(request, null, 404);
      return send(response, mdeError(404, 'NotFound', `No API at ${url.pathname}`));
    }
    if (request.method !== route.method) {
      record(request, route.api, 405);
      return send(
        response,
        mdeError(405, 'MethodNotAllowed', `${request.method} is not allowed on ${url.pathname}`),
      );
    }
    const latency = faults.latencyFor(route.api);
    if (latency > 0) await delay(latency);
    const fault = faults.before(route.api);
    if (fault === 'drop') {
      record(request, route.api, null);
      request.socket.destroy();
      return;
    }
    if (fault === 'server-error') {
      const status = faults.serverErrorStatus();
      record(request, route.api, status);
      return send(
        response,
        mdeError(status, status === 503 ? 'ServiceUnavailable' : 'InternalServerError', ''),
      );
    }

    const rawBody = route.method === 'POST' ? await readBody(request) : '';
    const answer = (result: ApiResult, headers?: Record<string, string>) => {
      record(request, route.api, result.status);
      send(response, result, headers);
    };
    const auth = authorize(request, route.api);
    if ('result' in auth) return answer(auth.result);

    const verdict = quotas.get(route.api)?.tryAdmit(now());
    if (verdict && !verdict.admitted) {
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      return answer(
        mdeError(
          429,
          'TooManyRequests',
          `API calls quota exceeded: at most ${verdict.window.label} for ${route.api}. Retry in ${seconds} seconds.`,
        ),
        { 'retry-after': String(seconds), 'x-retry-after-ms': String(verdict.retryAfterMs) },
      );
    }

    let body: unknown = null;
    if (route.method === 'POST') {
      const json = /^application\/json\b/i.test(request.headers['content-type'] ?? '');
      if (rawBody === null || !json)
        return answer(mdeError(400, 'InvalidRequestBody', 'Request body is incorrect'));
      try {
        body = JSON.parse(rawBody);
      } catch {
        return answer(mdeError(400, 'InvalidRequestBody', 'Request body is incorrect'));
      }
    }
    actions.advance(now());
    const result = route.handle(
      { machines, actions, pageSize },
      { segments, query: url.searchParams, body, appId: auth.appId, nowMs: now(), contextBase: baseUrl },
    );
    if (route.method === 'POST' && result.status === 201 && faults.dropAfterExecute(route.api)) {
      record(request, route.api, null);
      request.socket.destroy();
      return;
    }
    answer(result);
  }

  function handleIdentity(request: IncomingMessage, response: ServerResponse, url: URL): void {
    if (identityFault?.kind === 'hang') {
      record(request, 'token', null);
      return void heldTokenRequests.push(() => handleIdentity(request, response, url));
    }
    if (identityFault?.kind === 'error') {
      record(request, 'token', identityFault.status);
      response.writeHead(identityFault.status, { 'content-type': 'text/html; charset=utf-8' });
      return void response.end(identityFault.body);
    }
    const header = request.headers['x-identity-header'];
    const result = issueToken(
      authority,
      identities,
      identityHeader,
      { header: Array.isArray(header) ? header[0] : header, query: url.searchParams },
      options.tokenLifetimeSeconds ?? 3600,
    );
    record(request, 'token', result.status);
    send(response, result);
  }

  function handleArm(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const result = incidents.answer(
      request.method ?? 'GET',
      url.pathname,
      url.searchParams,
      token ? authority.verify(token) : null,
    );
    record(request, 'arm', result.status);
    send(response, result);
  }

  function machineState(id: string): MachineState | undefined {
    actions.advance(now());
    const machine = byId.get(id.toLowerCase());
    if (!machine) return undefined;
    const own = actions.all().filter((a) => a.machineId === machine.entity.id);
    return {
      id: machine.entity.id,
      computerDnsName: machine.entity.computerDnsName,
      isolated: machine.traits.isolation !== null,
      isolationType: machine.traits.isolation,
      offline: machine.traits.offline,
      openAction: actions.openIsolationAction(machine.entity.id) ?? null,
      actions: own,
    };
  }

  /** An isolate (Full) or release someone other than the calling app posts; MDE refuses it while one is under way. */
  function othersAction(
    id: string,
    type: 'Isolate' | 'Unisolate',
    by: { requestor: string; comment: string; requestSource: string; ageMs?: number },
  ): ActionEntity {
    actions.advance(now());
    const machine = byId.get(id.toLowerCase());
    if (!machine) throw new Error(`no simulated machine ${id}`);
    if (actions.openIsolationAction(machine.entity.id))
      throw new Error(`an isolate or release is under way on ${id}`);
    const isolationType = type === 'Isolate' ? 'Full' : null;
    const createdAt = now() - (by.ageMs ?? 0);
    const entity = actions.create(
      machine,
      type,
      isolationType,
      by.requestor,
      by.comment,
      createdAt,
      by.requestSource,
    );
    actions.advance(now());
    return structuredClone(entity);
  }

  function stateView(): ApiResult {
    actions.advance(now());
    const counts: Record<string, number> = {};
    for (const call of recorded) {
      const key = `${call.api ?? 'unknown'} ${call.status ?? 'dropped'}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return {
      status: 200,
      body: {
        isolated: machines
          .filter((m) => m.traits.isolation !== null)
          .map((m) => ({
            id: m.entity.id,
            computerDnsName: m.entity.computerDnsName,
            isolationType: m.traits.isolation,
          })),
        actions: actions.all(),
        calls: counts,
      },
    };
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://simulator.invalid');
    let work: Promise<void>;
    if (url.pathname === IDENTITY_PATH && request.method === 'GET')
      work = Promise.resolve(handleIdentity(request, response, url));
    else if (url.pathname === STATE_PATH && request.method === 'GET')
      work = Promise.resolve(send(response, stateView()));
    else if (url.pathname.startsWith(ARM_PATH)) work = Promise.resolve(handleArm(request, response, url));
    else work = handleApi(request, response, url);
    work.catch((error: unknown) => {
      // A simulator bug must show up as a 500 in the test that hit it, not kill the process.
      if (response.headersSent) return void response.destroy();
      send(response, mdeError(500, 'InternalServerError', errorMessage(error)));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;
  const identityEndpoint = `${baseUrl}${IDENTITY_PATH}`;

  return {
    baseUrl,
    identityEndpoint,
    identityHeader,
    env: () => ({
      IDENTITY_ENDPOINT: identityEndpoint,
      IDENTITY_HEADER: identityHeader,
      MDE_API_URL: baseUrl,
    }),
    calls: () => recorded.map((call) => ({ ...call })),
    resetCalls: () => {
      recorded.length = 0;
    },
    machines: () => machines.map((m) => structuredClone(m.entity)),
    machineState,
    actions: () => {
      actions.advance(now());
      return actions.all().map((a) => structuredClone(a));
    },
    setFaults: (next) => faults.set(next),
    setRateLimits,
    setRoles: (roles, clientId) => {
      const key = clientId ? clientId.toLowerCase() : SYSTEM_IDENTITY;
      const existing = identities.get(key);
      identities.set(key, { clientId: existing?.clientId ?? key, roles: [...roles] });
    },
    revokeTokens: () => authority.revokeAll(),
    refuseTokens: (refuse) => authority.refuseAll(refuse),
    setIdentityFault: (fault) => {
      identityFault = fault;
      if (fault?.kind !== 'hang') for (const answer of heldTokenRequests.splice(0)) answer();
    },
    setMachine: (id, patch) => {
      actions.advance(now());
      const machine = byId.get(id.toLowerCase());
      if (!machine) throw new Error(`no simulated machine ${id}`);
      const wasOffline = machine.traits.offline;
      Object.assign(machine.entity, patch.entity ?? {});
      Object.assign(machine.traits, patch.traits ?? {});
      if (wasOffline && !machine.traits.offline) actions.deviceOnline(machine.entity.id, now());
      if (!wasOffline && machine.traits.offline) actions.deviceOffline(machine.entity.id);
    },
    addMachine: (seed, entity = {}) => {
      const machine = buildMachine(seed, fleetSeed, now());
      Object.assign(machine.entity, entity);
      machine.entity.id = machine.entity.id.toLowerCase();
      if (byId.has(machine.entity.id)) throw new Error(`machine ${machine.entity.id} already exists`);
      machines.push(machine);
      byId.set(machine.entity.id, machine);
      return structuredClone(machine.entity);
    },
    portalAction: (id, type, person) =>
      othersAction(id, type, {
        requestor: person.requestor,
        comment: person.comment,
        ageMs: person.ageMs,
        requestSource: 'Portal',
      }),
    defenderAction: (id, by, options = {}) =>
      othersAction(
        id,
        'Isolate',
        by === 'attack-disruption'
          ? {
              requestor: 'Automatic attack disruption',
              requestSource: 'AttackDisruption',
              comment: 'Automatically isolated by attack disruption',
              ageMs: options.ageMs,
            }
          : {
              requestor: `Custom detection: ${options.rule ?? 'isolate on detection'}`,
              requestSource: 'CustomDetection',
              comment: `Isolated by custom detection rule ${options.rule ?? 'isolate on detection'}`,
              ageMs: options.ageMs,
            },
      ),
    addIncident: (status, title) => incidents.add(status, title),
    setIncidentStatus: (id, status) => incidents.setStatus(id, status),
    setIncidentReads: (reads, times) => incidents.setReads(reads, times),
    advanceTime: (ms) => {
      clockOffsetMs += ms;
    },
    now,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
