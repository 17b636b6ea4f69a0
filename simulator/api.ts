/**
 * The Defender for Endpoint endpoints the product uses, answered from the simulator's state the way
 * docs/mde-api.md documents them (and, where it is silent, by the choices in docs/mde-api.md §12).
 * Each handler gets an authenticated call and returns a status and a JSON body.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { DAY_MS } from '../shared/kernel/clock';
import type { MdeApiName } from '../shared/mde/api';
import type { ActionEntity, ActionStore } from './actions';
import type { MachineEntity, SimIsolationType, SimMachine } from './fleet';
import { matches, ODataError, type ODataSchema, parseFilter } from './odata';
import { isolationSupport } from './platforms';

export interface ApiResult {
  status: number;
  body: unknown;
}

export interface ApiContext {
  segments: string[];
  query: URLSearchParams;
  body: unknown;
  /** The calling application's client id (`requestor` of new actions). */
  appId: string;
  nowMs: number;
  contextBase: string;
}

export interface ApiState {
  machines: SimMachine[];
  actions: ActionStore;
  /** Entries per page of a list; more come behind `@odata.nextLink` (docs/mde-api.md §7.3). */
  pageSize: number;
}

export interface Route {
  api: MdeApiName;
  method: 'GET' | 'POST';
  handle(state: ApiState, context: ApiContext): ApiResult;
}

/** `$top` and the page size may not exceed it (docs/mde-api.md §4, §7.3). */
export const MAX_PAGE_SIZE = 10_000;
const THIRTY_DAYS_MS = 30 * DAY_MS;
const FIFTEEN_MINUTES_MS = 15 * 60_000;

const MACHINE_SCHEMA: ODataSchema = {
  computerDnsName: 'string',
  id: 'string',
  version: 'string',
  deviceValue: 'string',
  aadDeviceId: 'string',
  machineTags: 'collection',
  lastSeen: 'datetime',
  exposureLevel: 'string',
  onboardingStatus: 'string',
  lastIpAddress: 'string',
  healthStatus: 'string',
  osPlatform: 'string',
  riskScore: 'string',
  rbacGroupId: 'number',
};
const ACTION_SCHEMA: ODataSchema = {
  id: 'string',
  status: 'string',
  machineId: 'string',
  type: 'string',
  requestor: 'string',
  creationDateTimeUtc: 'datetime',
};

/** The common error body of docs/mde-api.md §3, with a fresh tracking id in `target`. */
export function mdeError(
  status: number,
  code: string,
  message: string,
  target: string = randomUUID(),
): ApiResult {
  return { status, body: { error: { code, message, target } } };
}

const entityResult = (status: number, context: ApiContext, set: string, entity: object): ApiResult => ({
  status,
  body: { '@odata.context': `${context.contextBase}/api/$metadata#${set}/$entity`, ...entity },
});

const listResult = (context: ApiContext, set: string, items: object[], nextLink?: string): ApiResult => ({
  status: 200,
  body: {
    '@odata.context': `${context.contextBase}/api/$metadata#${set}`,
    value: items,
    ...(nextLink && { '@odata.nextLink': nextLink }),
  },
});

/** One page of a list query, and the link to the rest when there is more. */
interface Page<T> {
  items: T[];
  nextLink?: string;
}

const machineNotFound = (id: string) =>
  // The real 404 carries a non-GUID tracking id starting with a pipe (docs/mde-api.md §3).
  mdeError(404, 'ResourceNotFound', `Machine ${id} was not found`, `|${randomUUID().slice(0, 8)}.`);

function findById(state: ApiState, id: string): SimMachine | undefined {
  const wanted = id.toLowerCase();
  return state.machines.find((m) => m.entity.id === wanted);
}

/** GET by id also takes a computer name; with several records of one name the latest seen wins. */
function findByIdOrName(state: ApiState, key: string): SimMachine | undefined {
  const byId = findById(state, key);
  if (byId) return byId;
  const name = key.toLowerCase();
  return state.machines
    .filter((m) => {
      const dns = m.entity.computerDnsName?.toLowerCase();
      return dns === name || dns?.split('.')[0] === name;
    })
    .sort((a, b) => Date.parse(b.entity.lastSeen) - Date.parse(a.entity.lastSeen))[0];
}

/**
 * `$filter`, `$top`, `$skip`; any other `$` option is refused like MDE refuses a bad query. An answer
 * longer than a page is cut there, with an `@odata.nextLink` to the rest: the same query with `$skip`
 * past this page (and `$top` less what it held).
 */
function applyQuery<T extends object>(
  items: T[],
  state: ApiState,
  context: ApiContext,
  schema: ODataSchema,
  entityName: string,
): Page<T> {
  const { query } = context;
  for (const key of query.keys()) {
    if (key.startsWith('$') && !['$filter', '$top', '$skip'].includes(key))
      throw new ODataError(`Query option '${key}' is not allowed. Allowed: $filter, $top, $skip`);
  }
  const integer = (name: string): number | null => {
    const raw = query.get(name);
    if (raw === null) return null;
    if (!/^\d+$/.test(raw))
      throw new ODataError(`Invalid value '${raw}' for ${name}: a non-negative integer is required`);
    return Number(raw);
  };
  const top = integer('$top');
  if (top !== null && top > MAX_PAGE_SIZE)
    throw new ODataError(`The limit of '${MAX_PAGE_SIZE}' for Top query has been exceeded`);
  const skip = integer('$skip') ?? 0;
  const filterText = query.get('$filter');
  const filter = filterText === null ? null : parseFilter(filterText, schema, entityName);
  const selected = filter
    ? items.filter((item) => matches(filter, item as Record<string, unknown>, schema))
    : items;
  const wanted = selected.slice(skip, top === null ? undefined : skip + top);
  const page = wanted.slice(0, state.pageSize);
  if (page.length === wanted.length) return { items: page };
  const next = new URLSearchParams(query);
  next.set('$skip', String(skip + page.length));
  if (top !== null) next.set('$top', String(top - page.length));
  return { items: page, nextLink: `${context.contextBase}/api/${context.segments.join('/')}?${next}` };
}

function odataFailure(error: unknown): ApiResult {
  if (error instanceof ODataError) return mdeError(400, 'ODataError', `Invalid ODataQuery: ${error.message}`);
  throw error;
}

/** Applies the query to the machines' entities. */
function queryMachines(state: ApiState, context: ApiContext): Page<MachineEntity> {
  return applyQuery(
    state.machines.map((m) => m.entity),
    state,
    context,
    MACHINE_SCHEMA,
    'microsoft.windowsDefenderATP.api.PublicMachine',
  );
}
const listMachines: Route = {
  api: 'machines',
  method: 'GET',
  handle(state, context) {
    let page: Page<MachineEntity>;
    try {
      page = queryMachines(state, context);
    } catch (error) {
      return odataFailure(error);
    }
    // Documented: no matching machine gives 404, not an empty list (docs/mde-api.md §8.3).
    if (page.items.length === 0) return mdeError(404, 'NotFound', 'No machines were found');
    return listResult(context, 'Machines', page.items, page.nextLink);
  },
};

const getMachine: Route = {
  api: 'machines',
  method: 'GET',
  handle(state, context) {
    const machine = findByIdOrName(state, context.segments[1]);
    if (!machine) return machineNotFound(context.segments[1]);
    return entityResult(200, context, 'Machines', machine.entity);
  },
};

const FIND_BY_IP = /^findbyip\(ip='((?:[^']|'')*)',timestamp=([^,)]+)\)$/i;

const findByIp: Route = {
  api: 'machines',
  method: 'GET',
  handle(state, context) {
    const match = FIND_BY_IP.exec(context.segments[1]);
    if (!match)
      return mdeError(
        400,
        'ODataError',
        "Invalid ODataQuery: expected findbyip(ip='{IP}',timestamp={TimeStamp})",
      );
    const ip = match[1].replace(/''/g, "'");
    if (!isIP(ip)) return mdeError(400, 'InvalidIpAddress', `IP address ${ip} is invalid`);
    const at = Date.parse(match[2]);
    if (Number.isNaN(at)) return mdeError(400, 'InvalidInput', `Invalid input timestamp ${match[2]}`);
    if (at < context.nowMs - THIRTY_DAYS_MS || at > context.nowMs + FIFTEEN_MINUTES_MS)
      return mdeError(400, 'BadRequest', 'The timestamp must be within the past 30 days');
    const found = state.machines.filter((m) => {
      const e = m.entity;
      // Internal addresses only: every device has a loopback interface, which identifies none of them.
      const hasIp =
        e.lastIpAddress === ip ||
        (e.ipAddresses ?? []).some((a) => a.ipAddress === ip && a.type !== 'SoftwareLoopback');
      // Online devices are seen continuously; an offline one was last seen at lastSeen.
      const seenUntil = m.traits.offline ? Date.parse(e.lastSeen) : context.nowMs;
      const seenFrom = Date.parse(e.firstSeen ?? e.lastSeen);
      return hasIp && at >= seenFrom - FIFTEEN_MINUTES_MS && at <= seenUntil + FIFTEEN_MINUTES_MS;
    });
    return listResult(
      context,
      'Machines',
      found.map((m) => m.entity),
    );
  },
};

const findByTag: Route = {
  api: 'machines',
  method: 'GET',
  handle(state, context) {
    const tag = context.query.get('tag');
    if (!tag) return mdeError(400, 'MissingRequiredParameter', 'Parameter tag is missing');
    const startsWithRaw = (context.query.get('useStartsWithFilter') ?? 'false').toLowerCase();
    if (startsWithRaw !== 'true' && startsWithRaw !== 'false')
      return mdeError(400, 'InvalidInput', `Invalid input useStartsWithFilter ${startsWithRaw}`);
    const wanted = tag.toLowerCase();
    const found = state.machines.filter((m) =>
      m.entity.machineTags.some((t) =>
        startsWithRaw === 'true' ? t.toLowerCase().startsWith(wanted) : t.toLowerCase() === wanted,
      ),
    );
    return listResult(
      context,
      'Machines',
      found.map((m) => m.entity),
    );
  },
};

type BodyCheck =
  | { ok: true; comment: string; isolationType: SimIsolationType }
  | { ok: false; result: ApiResult };

/** Body rules of §3 and §5: PascalCase names (case-sensitive), Comment required, known values only. */
function checkBody(body: unknown, allowIsolationType: boolean): BodyCheck {
  const invalid = (message: string): BodyCheck => ({
    ok: false,
    result: mdeError(400, 'InvalidRequestBody', message),
  });
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return invalid('Request body is incorrect');
  const fields = body as Record<string, unknown>;
  if (!('Comment' in fields))
    return { ok: false, result: mdeError(400, 'MissingRequiredParameter', 'Parameter Comment is missing') };
  const allowed = allowIsolationType ? ['Comment', 'IsolationType'] : ['Comment'];
  const unknown = Object.keys(fields).filter((key) => !allowed.includes(key));
  if (unknown.length > 0)
    return invalid(`Request body is incorrect: unknown parameter ${unknown.join(', ')}`);
  if (typeof fields.Comment !== 'string' || fields.Comment.trim() === '')
    return invalid('Request body is incorrect: Comment must be a non-empty string');
  // Simulator policy for a gap in the docs: no IsolationType means Full; values are case-sensitive.
  const type = fields.IsolationType ?? 'Full';
  if (type !== 'Full' && type !== 'Selective' && type !== 'UnManagedDevice')
    return invalid(`Request body is incorrect: IsolationType must be Full, Selective or UnManagedDevice`);
  return { ok: true, comment: fields.Comment, isolationType: type };
}

/**
 * MDE documents no answer for an action on a device that refuses response actions; the simulator's
 * choice (docs/mde-api.md §15): 403 `DisallowedOperation`, its message naming the device and why.
 */
function refusedOnDevice(kind: 'Isolate' | 'Unisolate', machine: SimMachine): ApiResult {
  const why =
    machine.traits.refusesActions === 'excluded'
      ? 'the device is excluded from response actions'
      : 'the device was onboarded with restricted response actions';
  return mdeError(
    403,
    'DisallowedOperation',
    `${kind} is not allowed on machine ${machine.entity.id}: ${why}`,
  );
}

function machineAction(kind: 'Isolate' | 'Unisolate'): Route {
  return {
    api: kind === 'Isolate' ? 'isolate' : 'unisolate',
    method: 'POST',
    handle(state, context) {
      const checked = checkBody(context.body, kind === 'Isolate');
      if (!checked.ok) return checked.result;
      const machine = findById(state, context.segments[1]);
      if (!machine) return machineNotFound(context.segments[1]);
      const isolationType = kind === 'Isolate' ? checked.isolationType : null;
      const managed = machine.entity.onboardingStatus === 'Onboarded';
      if (kind === 'Isolate' && managed === (isolationType === 'UnManagedDevice'))
        return mdeError(
          400,
          'BadRequest',
          managed
            ? 'IsolationType UnManagedDevice applies to unmanaged devices only'
            : `Machine ${machine.entity.id} is not onboarded; contain it with IsolationType UnManagedDevice`,
        );
      if (machine.traits.refusesActions) return refusedOnDevice(kind, machine);
      if (managed) {
        const verdict = isolationSupport(machine.entity, isolationType === 'Selective');
        if (!verdict.supported) return mdeError(400, verdict.code, verdict.message);
      }
      if (state.actions.openIsolationAction(machine.entity.id))
        return mdeError(400, 'ActiveRequestAlreadyExists', 'Action is already in progress');
      const action = state.actions.create(
        machine,
        kind,
        isolationType,
        context.appId,
        checked.comment,
        context.nowMs,
      );
      return entityResult(201, context, 'MachineActions', action);
    },
  };
}

const listActions: Route = {
  api: 'machineactions',
  method: 'GET',
  handle(state, context) {
    try {
      const page = applyQuery<ActionEntity>(
        state.actions.all(),
        state,
        context,
        ACTION_SCHEMA,
        'microsoft.windowsDefenderATP.api.MachineAction',
      );
      return listResult(context, 'MachineActions', page.items, page.nextLink);
    } catch (error) {
      return odataFailure(error);
    }
  },
};

const getAction: Route = {
  api: 'machineactions',
  method: 'GET',
  handle(state, context) {
    const action = state.actions.get(context.segments[1]);
    if (!action)
      return mdeError(404, 'ResourceNotFound', `Machine action ${context.segments[1]} was not found`);
    return entityResult(200, context, 'MachineActions', action);
  },
};

const cancelAction: Route = {
  api: 'cancel',
  method: 'POST',
  handle(state, context) {
    const checked = checkBody(context.body, false);
    if (!checked.ok) return checked.result;
    const id = context.segments[1];
    if (!state.actions.get(id))
      return mdeError(404, 'ResourceNotFound', `Machine action ${id} was not found`);
    const cancelled = state.actions.cancel(id, context.appId, checked.comment, context.nowMs);
    if (!cancelled) return mdeError(400, 'BadRequest', `Machine action ${id} is already final`);
    return entityResult(200, context, 'MachineActions', cancelled);
  },
};

const isolate = machineAction('Isolate');
const unisolate = machineAction('Unisolate');

/** The route for path segments after `/api` (or `/api/v1.0`), ignoring the method. */
export function routeFor(segments: string[]): Route | null {
  const [set, key, verb] = segments;
  if (set === 'machines') {
    if (segments.length === 1) return listMachines;
    if (segments.length === 2 && key.toLowerCase() === 'findbytag') return findByTag;
    if (segments.length === 2 && key.toLowerCase().startsWith('findbyip(')) return findByIp;
    if (segments.length === 2) return getMachine;
    if (segments.length === 3 && verb === 'isolate') return isolate;
    if (segments.length === 3 && verb === 'unisolate') return unisolate;
  }
  if (set === 'machineactions') {
    if (segments.length === 1) return listActions;
    if (segments.length === 2) return getAction;
    if (segments.length === 3 && verb === 'cancel') return cancelAction;
  }
  return null;
}
