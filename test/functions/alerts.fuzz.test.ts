/**
 * Never a 500: thousands of mutated real payloads and random bodies through the real handler, each
 * answered with a 2xx/4xx JSON body of the documented shape.
 */
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import fc from 'fast-check';
import { alerts } from '../../functions/alerts';
import { SEVERITIES } from '../../shared/alerts/model';
import { fixture, fixtureNames } from '../fixtures';
import { useQueueOnlyRuntime } from '../setup/queue-only-runtime';

// Intake ends at the queue: requests are queued, never sent to MDE.
useQueueOnlyRuntime();

const SAMPLES = fixtureNames().map(fixture);
const context = new InvocationContext({ logHandler: () => undefined });

async function send(text: string): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    url: 'http://localhost/api/alerts',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: { string: text },
  });
  return alerts(request, context);
}

const MDE_DEVICE_ID = /^[0-9a-f]{40}$/;

/** What every accepted alert of a response must look like, whatever the payload was. */
function assertAcceptedAlert(report: Record<string, unknown>): void {
  expect(SEVERITIES).toContain(report.severity);
  expect(typeof report.firing).toBe('boolean');
  expect(typeof report.alertId).toBe('string');
  for (const device of report.devices as Array<Record<string, unknown>>) {
    expect(device.mdeDeviceId ?? device.fqdn ?? device.hostname ?? device.aadDeviceId).toBeDefined();
    if (device.mdeDeviceId !== undefined) expect(device.mdeDeviceId).toMatch(MDE_DEVICE_ID);
  }
}

function assertWellFormed(response: HttpResponseInit): void {
  // 503 only means a policy or queue failure, which nothing here provokes.
  expect([202, 400, 413, 415, 422]).toContain(response.status);
  const body = response.jsonBody as Record<string, unknown>;
  // Exactly what goes over the wire: no function or other non-JSON value hiding in the body.
  expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  if (response.status !== 202) {
    const error = body.error as Record<string, unknown>;
    expect(typeof error.code).toBe('string');
    expect(typeof error.message).toBe('string');
  }
  if (response.status === 202 || response.status === 422) {
    const reports = body.alerts as Array<Record<string, unknown>>;
    expect(reports.length).toBeGreaterThan(0);
    for (const report of reports) if (report.status === 'accepted') assertAcceptedAlert(report);
  }
}

type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'pollute'; at: number; key: string; value: unknown }
  | { kind: 'nest'; at: number; depth: number }
  | { kind: 'recase'; at: number }
  | { kind: 'retarget'; name: string; value: unknown };

/**
 * Fields parsers act on. Random positions rarely land on them, so `retarget` sets every field of one
 * of these names, wherever it is in the document, to a strange value.
 */
const MEANINGFUL_FIELDS = [
  'severity',
  'alertseverity',
  'status',
  'monitorcondition',
  'mdatpdeviceid',
  'mdedeviceid',
  'machineid',
  'deviceid',
  'hostname',
  'computerdnsname',
  'devicednsname',
  'devicename',
  'entitytype',
  'kind',
  'type',
  'category',
  'entities',
  '@odata.type',
];

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

const strangeValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', ' ', 'High', 'Closed', 'resolved', 'Sev0', '$ref', '{"$ref":"1"}', '[{"Type":"host"'),
  fc.constantFrom(...POLLUTING_KEYS),
  fc.constantFrom('A'.repeat(40), 'f'.repeat(40), '10.0.0.1', '::1', 'web1', '/subscriptions/x'),
  fc.integer({ min: 100_000, max: 400_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom({ $ref: '3' }, { __proto__: { polluted: true } }, [null], {}),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: strangeValue }),
  fc.record({
    kind: fc.constant('pollute' as const),
    at: fc.nat(),
    key: fc.constantFrom(...POLLUTING_KEYS),
    value: strangeValue,
  }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constant('recase' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('retarget' as const),
    name: fc.constantFrom(...MEANINGFUL_FIELDS),
    value: strangeValue,
  }),
);

/** Every object and array in the document, so a mutation can land anywhere. */
function containers(value: unknown, out: Array<Record<string, unknown> | unknown[]> = []) {
  if (typeof value !== 'object' || value === null) return out;
  out.push(value as Record<string, unknown>);
  for (const child of Object.values(value)) containers(child, out);
  return out;
}

function setOwn(target: Record<string, unknown> | unknown[], key: string | number, value: unknown) {
  // defineProperty makes `__proto__` an own, serialized key instead of changing the prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function apply(document: unknown, m: Mutation): void {
  const all = containers(document);
  if (m.kind === 'retarget') {
    for (const target of all)
      for (const key of Object.keys(target))
        if (key.toLowerCase() === m.name) setOwn(target, key, structuredClone(m.value));
    return;
  }
  const target = all[m.at % all.length];
  const keys = Object.keys(target);
  const key = keys.length > 0 ? keys[Math.floor(m.at / all.length) % keys.length] : undefined;
  switch (m.kind) {
    case 'drop':
      if (key !== undefined) {
        if (Array.isArray(target)) target.splice(Number(key), 1);
        else delete target[key];
      }
      return;
    case 'replace':
      if (key !== undefined) setOwn(target, key, structuredClone(m.value));
      return;
    case 'pollute':
      if (!Array.isArray(target)) setOwn(target, m.key, structuredClone(m.value));
      return;
    case 'nest':
      if (key !== undefined) {
        let wrapped: unknown = (target as Record<string, unknown>)[key];
        for (let i = 0; i < m.depth; i++) wrapped = i % 2 ? { Entities: wrapped } : [wrapped];
        setOwn(target, key, wrapped);
      }
      return;
    case 'recase':
      if (key !== undefined && !Array.isArray(target)) {
        const value = target[key];
        delete target[key];
        setOwn(target, key.toUpperCase(), value);
      }
  }
}

const mutatedSample = fc
  .tuple(
    fc.nat({ max: SAMPLES.length - 1 }),
    fc.array(mutation, { minLength: 1, maxLength: 6 }),
    fc.boolean(),
  )
  .map(([index, mutations, asBatch]) => {
    const document = structuredClone(SAMPLES[index]);
    for (const m of mutations) apply(document, m);
    return JSON.stringify(asBatch ? [document, SAMPLES[(index + 1) % SAMPLES.length]] : document);
  });

// Thousands of requests per test take 15 to 18 s with a CPU hog beside a loaded machine, close to
// jest's 30 s: that bound is for a hung request, not for a slow machine.
jest.setTimeout(120_000);

describe('POST /api/alerts under fuzzing', () => {
  it('answers every mutated real payload with a 2xx/4xx JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedSample, async (text) => {
        assertWellFormed(await send(text));
      }),
      { numRuns: 2500 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers random JSON and random text with a 2xx/4xx JSON body', async () => {
    const body = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
      fc.string({ unit: 'binary' }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        assertWellFormed(await send(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers pathological nesting with a 4xx, not a crash', async () => {
    const bodies = [
      '['.repeat(200_000),
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      `{"value":${'['.repeat(50_000)}1${']'.repeat(50_000)}}`,
    ];
    const statuses: unknown[] = [];
    for (const text of bodies) {
      const response = await send(text);
      assertWellFormed(response);
      statuses.push(response.status);
    }
    // Unclosed is not JSON; deep but balanced nesting is JSON that holds no alert object.
    expect(statuses).toEqual([400, 422, 422]);
  });
});
