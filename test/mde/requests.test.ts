/**
 * The pure parts of the MDE client: the checks before a request, the requests themselves, and what
 * is made of the answers. No HTTP here; client.test.ts sends the same requests to the simulator.
 */

import { newestFirst, withAadDeviceId, withDnsName, withHostname, withTag } from '../../shared/mde/answers';
import { MAX_MACHINES_PER_QUERY } from '../../shared/mde/api';
import { RefusedBeforeSendingError } from '../../shared/mde/errors';
import {
  cancelMachineActionRequest,
  isolateRequest,
  listMachineActionsRequest,
  machinesByHostnameRequest,
  machinesByIpRequest,
  machinesByTagRequest,
  releaseRequest,
} from '../../shared/mde/requests';
import type { Machine, MachineAction } from '../../shared/mde/types';
import {
  MAX_PAGE_SIZE,
  requireComment,
  requireDate,
  requireDnsName,
  requireHostname,
  requireIsolationType,
  requireMachineActionQuery,
  requireTag,
} from '../../shared/mde/validate';

const MACHINE = 'ab'.repeat(20);
const OTHER = 'cd'.repeat(20);

function refusal(check: () => unknown): RefusedBeforeSendingError {
  try {
    check();
  } catch (error) {
    if (error instanceof RefusedBeforeSendingError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('checks before sending', () => {
  it.each([
    ['an empty comment', () => requireComment('isolate', '  \n '), 'comment', 'isolate'],
    ['a comment that is not text', () => requireComment('release', 42 as never), 'comment', 'release'],
    [
      'an invalid date',
      () => requireDate('findMachinesByIp', 'at', new Date('soon')),
      'at',
      'findMachinesByIp',
    ],
    ['a page size of 0', () => requireMachineActionQuery({ top: 0 }), 'top', 'listMachineActions'],
    [
      'a page size above the maximum',
      () => requireMachineActionQuery({ top: MAX_PAGE_SIZE + 1 }),
      'top',
      'listMachineActions',
    ],
    ['a fractional page size', () => requireMachineActionQuery({ top: 2.5 }), 'top', 'listMachineActions'],
    [
      'an invalid creation date',
      () => requireMachineActionQuery({ createdSince: new Date(Number.NaN) }),
      'createdSince',
      'listMachineActions',
    ],
    [
      'an empty list of machines (it would match every machine)',
      () => requireMachineActionQuery({ machineId: [] }),
      'machineId',
      'listMachineActions',
    ],
    [
      'more machines than one query may name',
      () => requireMachineActionQuery({ machineId: Array(MAX_MACHINES_PER_QUERY + 1).fill(MACHINE) }),
      'machineId',
      'listMachineActions',
    ],
    [
      'an unknown status',
      () => requireMachineActionQuery({ status: 'Done' as never }),
      'status',
      'listMachineActions',
    ],
    [
      'an isolation type MDE lacks',
      () => requireIsolationType('isolate', 'Partial' as never),
      'isolationType',
      'isolate',
    ],
    ['an empty tag', () => requireTag('findMachinesByTag', ' '), 'tag', 'findMachinesByTag'],
    [
      'a host name with dots',
      () => requireHostname('findMachinesByHostname', 'a.b'),
      'hostname',
      'findMachinesByHostname',
    ],
    [
      'a DNS name with a space',
      () => requireDnsName('findMachinesByDnsName', 'a b'),
      'dnsName',
      'findMachinesByDnsName',
    ],
  ])('refuses %s, saying it was refused before sending', (_what, check, field, operation) => {
    const error = refusal(check);
    expect(error).toMatchObject({ kind: 'refused-before-sending', field, operation });
    expect(error.message).toMatch(new RegExp(`^${operation} refused before sending to MDE: ${field} `));
    expect(error.message).not.toMatch(/rejected/);
  });

  it('cuts an echoed value short: it may be attacker-supplied', () => {
    const error = refusal(() => requireDnsName('findMachinesByDnsName', `${'x'.repeat(500)} y`));
    expect(error.message).toContain(`"${'x'.repeat(80)}"`);
    expect(error.message).not.toContain('x'.repeat(81));
  });

  it('answers the values in the form they are sent', () => {
    expect(requireComment('isolate', '  IR-7  ')).toBe('IR-7');
    expect(requireDnsName('findMachinesByDnsName', ' WEB1.Contoso.local ')).toBe('web1.contoso.local');
    expect(requireHostname('findMachinesByHostname', 'WEB1')).toBe('web1');
    expect(requireTag('findMachinesByTag', ' Tier0 ')).toBe('Tier0');
    expect(
      requireMachineActionQuery({ machineId: MACHINE.toUpperCase(), type: 'Isolate', top: MAX_PAGE_SIZE }),
    ).toEqual({
      machineIds: [MACHINE],
      types: ['Isolate'],
      statuses: [],
      createdSince: undefined,
      top: MAX_PAGE_SIZE,
    });
  });
});

describe('requests', () => {
  it('posts isolate and release with the case-sensitive body names MDE wants', () => {
    expect(isolateRequest(MACHINE, 'IR-7', 'Selective')).toEqual({
      call: { operation: 'isolate', api: 'isolate', method: 'POST' },
      path: `/api/machines/${MACHINE}/isolate`,
      body: { Comment: 'IR-7', IsolationType: 'Selective' },
    });
    expect(releaseRequest(MACHINE, 'clean')).toEqual({
      call: { operation: 'release', api: 'unisolate', method: 'POST' },
      path: `/api/machines/${MACHINE}/unisolate`,
      body: { Comment: 'clean' },
    });
  });

  it('posts a cancel with its comment, spending the cancel quota family (docs/mde-api.md §7.4)', () => {
    const id = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    expect(cancelMachineActionRequest(id, 'wrong device')).toEqual({
      call: { operation: 'cancelMachineAction', api: 'cancel', method: 'POST' },
      path: `/api/machineactions/${id}/cancel`,
      body: { Comment: 'wrong device' },
    });
  });

  it('pre-selects a host name by its exact name or its dotted prefix', () => {
    expect(machinesByHostnameRequest("o'brien").params).toEqual({
      $filter: "computerDnsName eq 'o''brien' or startswith(computerDnsName,'o''brien.')",
      $top: '100',
    });
  });

  it('asks for an IP at a second-precision time, and a tag as given', () => {
    expect(machinesByIpRequest('10.1.2.3', new Date('2026-11-29T01:02:03.456Z')).path).toBe(
      "/api/machines/findbyip(ip='10.1.2.3',timestamp=2026-11-29T01:02:03Z)",
    );
    expect(machinesByTagRequest('Tier0', true).params).toEqual({ tag: 'Tier0', useStartsWithFilter: 'true' });
  });

  it('joins the machine action clauses with and, alternatives parenthesised', () => {
    const request = listMachineActionsRequest({
      machineIds: [MACHINE],
      types: ['Isolate', 'Unisolate'],
      statuses: ['Pending'],
      createdSince: new Date('2026-11-29T00:00:00Z'),
      top: 50,
    });
    expect(request).toMatchObject({
      path: '/api/machineactions',
      call: { api: 'machineactions', method: 'GET' },
    });
    expect(request.params).toEqual({
      $filter: `machineId eq '${MACHINE}' and (type eq 'Isolate' or type eq 'Unisolate') and status eq 'Pending' and creationDateTimeUtc ge 2026-11-29T00:00:00Z`,
      $top: '50',
    });
    expect(listMachineActionsRequest({ machineIds: [], types: [], statuses: [] }).params).toEqual({});
    expect(
      listMachineActionsRequest({ machineIds: [MACHINE, OTHER], types: [], statuses: [] }).params,
    ).toEqual({ $filter: `(machineId eq '${MACHINE}' or machineId eq '${OTHER}')` });
  });
});

describe('answers', () => {
  const machine = (computerDnsName: string | null, extra: Partial<Machine> = {}) =>
    ({ id: computerDnsName ?? 'none', computerDnsName, machineTags: [], ...extra }) as Machine;

  it('keeps only exact names, never a longer name sharing the prefix', () => {
    const machines = [
      machine('web1.contoso.local'),
      machine('web10.contoso.local'),
      machine('WEB1'),
      machine(null),
    ];
    expect(withHostname(machines, 'web1').map((m) => m.computerDnsName)).toEqual([
      'web1.contoso.local',
      'WEB1',
    ]);
    expect(withDnsName(machines, 'web1.contoso.local').map((m) => m.computerDnsName)).toEqual([
      'web1.contoso.local',
    ]);
  });

  it('matches Entra device ids and tags case-insensitively', () => {
    const joined = machine('a', { aadDeviceId: 'ABCD', machineTags: ['Tier0', 'DomainController'] });
    expect(withAadDeviceId([joined, machine('b')], 'abcd')).toEqual([joined]);
    expect(withTag([joined], 'tier', true)).toEqual([joined]);
    expect(withTag([joined], 'tier', false)).toEqual([]);
    expect(withTag([joined], 'TIER0', false)).toEqual([joined]);
  });

  it('orders actions newest first, an unreadable time last, without changing the given list', () => {
    const action = (id: string, creationDateTimeUtc: string) =>
      ({ id, creationDateTimeUtc }) as MachineAction;
    const given = [
      action('old', '2026-01-01T00:00:00Z'),
      action('bad', 'soon'),
      action('new', '2026-02-01T00:00:00Z'),
    ];
    expect(newestFirst(given).map((a) => a.id)).toEqual(['new', 'old', 'bad']);
    expect(given.map((a) => a.id)).toEqual(['old', 'bad', 'new']);
  });
});
