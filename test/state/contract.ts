/**
 * The one contract every state store adapter passes: the semantics the worker and intake rely on,
 * run unchanged against the in-memory store and the Table adapter over a real Azurite.
 */
import type { StateOptions } from '../../shared/state/entity-store';
import {
  ABSORBED_MAX,
  type AbsorbedAlert,
  type BreakerLimits,
  ISOLATION_STATES,
  type IsolationChange,
  type OpenRequest,
  type Provenance,
  QUOTA_SHARES_MAX,
  type StateStore,
  StoreUnavailableError,
} from '../../shared/state/store';

/**
 * `store` and `sibling` share their data: for the Table adapter, two instances with their own
 * clients over the same tables, as two processes would be.
 */
export type MakeStores = (
  options: Partial<StateOptions>,
) => Promise<{ store: StateStore; sibling: StateStore }>;

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const machine = (n: number) => n.toString(16).padStart(40, 'a');

const provenance: Provenance = {
  requestedBy: { kind: 'rule', name: 'ransomware-auto-isolate' },
  alertSource: 'sentinel-incident',
  alertId: 'alert-1',
  incidentId: '42',
  incidentArmId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.SecurityInsights/incidents/i-42',
  policyVersion: '2026-12-01',
  mode: 'enforce',
  reason: 'ransomware on a workstation',
};

function isolating(n: number, requestId = 'req-1'): IsolationChange {
  return { machineId: machine(n), state: 'isolating', requestId, reason: 'rule matched', provenance };
}

/**
 * `separateInstances`: `store` and `sibling` are two instances over one storage, as two processes
 * would be (the Table adapter); the embedded store is one instance per process, so the tests of
 * contention between instances are not registered for it.
 */
export function describeStateStoreContract(
  name: string,
  makeStores: MakeStores,
  options: { separateInstances: boolean },
): void {
  const acrossInstances = options.separateInstances ? it : null;
  describe(`state store contract: ${name}`, () => {
    let now: number;
    const clock = { now: () => now };
    const open = async (options: Partial<StateOptions> = {}) => makeStores({ clock, ...options });

    beforeEach(() => {
      now = T0;
    });

    it('answers a ping', async () => {
      const { store } = await open();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('isolation register', () => {
      it('follows a device from request to isolation, with timestamps and history', async () => {
        const { store } = await open();
        expect(await store.register.get(machine(1))).toBeNull();
        await store.register.record({ ...isolating(1), computerDnsName: 'ws1.contoso.com' });
        now += 1_000;
        const action = {
          actionId: 'b3f1c2d4-0000-4000-8000-000000000001',
          type: 'Isolate' as const,
          status: 'Pending' as const,
          requestor: null,
          requestSource: null,
        };
        await store.register.record({
          machineId: machine(1),
          state: 'isolating',
          requestId: 'req-1',
          reason: 'posted',
          action,
        });
        now += 1_000;
        // A status change alone is not a new step of the history.
        await store.register.record({
          machineId: machine(1),
          state: 'isolating',
          requestId: 'req-1',
          reason: 'in progress',
          action: { ...action, status: 'InProgress' },
        });
        now += 1_000;
        const { record } = await store.register.record({
          machineId: machine(1).toUpperCase(),
          state: 'isolated',
          requestId: 'req-1',
          reason: 'MDE reports Succeeded',
          action: {
            ...action,
            status: 'Succeeded',
            requestor: 'mde-isolator-app',
            requestSource: 'PublicApi',
          },
        });
        expect(record).toMatchObject({
          machineId: machine(1),
          computerDnsName: 'ws1.contoso.com',
          state: 'isolated',
          requestId: 'req-1',
          provenance,
          actions: [
            { ...action, status: 'Succeeded', requestor: 'mde-isolator-app', requestSource: 'PublicApi' },
          ],
          requestedAt: new Date(T0).toISOString(),
          postedAt: new Date(T0 + 1_000).toISOString(),
          completedAt: new Date(T0 + 3_000).toISOString(),
        });
        expect(record?.history.map((t) => [t.state, t.reason, t.actionId])).toEqual([
          ['isolated', 'MDE reports Succeeded', action.actionId],
          ['isolating', 'posted', action.actionId],
          ['isolating', 'rule matched', null],
        ]);
        expect(await store.register.get(machine(1))).toEqual(record);
      });

      it('starts over for a new request, which must say where it comes from', async () => {
        const { store } = await open();
        await store.register.record(isolating(1));
        // A later step of the same request keeps the provenance it started with.
        const done = await store.register.record({
          machineId: machine(1),
          state: 'isolated',
          requestId: 'req-1',
          reason: 'done',
          provenance: { ...provenance, reason: 'another reason' },
        });
        expect(done.record?.provenance).toEqual(provenance);
        now += MINUTE;
        const release = {
          machineId: machine(1),
          state: 'releasing' as const,
          requestId: 'req-2',
          reason: 'analyst',
        };
        await expect(store.register.record(release)).rejects.toThrow(/provenance/);
        const caller: Provenance = {
          ...provenance,
          requestedBy: { kind: 'caller', name: 'alice@contoso.com' },
        };
        const { record } = await store.register.record({ ...release, provenance: caller });
        expect(record).toMatchObject({
          state: 'releasing',
          requestId: 'req-2',
          provenance: caller,
          requestedAt: new Date(T0 + MINUTE).toISOString(),
          postedAt: null,
          completedAt: null,
        });
        expect(record?.history.map((t) => t.state)).toEqual(['releasing', 'isolated', 'isolating']);
      });

      it('caps the history per device and drops transitions past retention', async () => {
        const { store } = await open({ historyCap: 3, historyRetentionMs: 10 * MINUTE });
        const states = ['isolating', 'failed', 'isolating', 'isolated', 'releasing'] as const;
        for (const [i, state] of states.entries()) {
          await store.register.record({ ...isolating(1, `req-${i}`), state });
          now += MINUTE;
        }
        const capped = await store.register.get(machine(1));
        expect(capped?.history.map((t) => t.requestId)).toEqual(['req-4', 'req-3', 'req-2']);
        now += 8 * MINUTE;
        const { record } = await store.register.record({ ...isolating(1, 'req-9'), state: 'released' });
        // req-2 was written 11 minutes ago and goes; req-3, exactly 10 minutes ago, stays.
        expect(record?.history.map((t) => t.requestId)).toEqual(['req-9', 'req-4', 'req-3']);
        now += 2 * MINUTE;
        const later = await store.register.record({ ...isolating(1, 'req-10'), state: 'isolating' });
        expect(later.record?.history.map((t) => t.requestId)).toEqual(['req-10', 'req-9']);
      });

      it('bounds what alerts and callers write, and refuses unusable keys', async () => {
        const { store } = await open();
        const long = 'x'.repeat(100_000);
        const { record } = await store.register.record({
          ...isolating(1),
          reason: long,
          computerDnsName: long,
          provenance: {
            ...provenance,
            alertId: long,
            reason: long,
            requestedBy: { kind: 'caller', name: long },
          },
        });
        expect(JSON.stringify(record).length).toBeLessThan(3_000);
        await expect(
          store.register.record({ ...isolating(1), machineId: 'not-a-machine-id' }),
        ).rejects.toThrow(/40 hexadecimal/);
        await expect(store.register.record(isolating(1, 'a/b'))).rejects.toThrow(/storage key/);
        await expect(store.register.record(isolating(1, 'a\u0001b'))).rejects.toThrow(/storage key/);
        await expect(store.register.get('../x')).rejects.toThrow(/40 hexadecimal/);
      });

      it("keeps an isolation's end while isolated, records each new end in the history, and keeps a reconciliation's confirmation", async () => {
        const { store } = await open();
        await store.register.record(isolating(1));
        const ends = new Date(T0 + 7 * DAY).toISOString();
        const isolated = { machineId: machine(1), state: 'isolated' as const, requestId: 'req-1' };
        const { record: done } = await store.register.record({
          ...isolated,
          reason: 'MDE reports Succeeded',
          expiresAt: ends,
        });
        expect(done).toMatchObject({ expiresAt: ends, confirmedAt: null });
        const confirmedAt = new Date(T0 + DAY).toISOString();
        const { record: confirmed } = await store.register.record({
          ...isolated,
          reason: 'MDE agrees',
          confirmedAt,
        });
        expect(confirmed).toMatchObject({ expiresAt: ends, confirmedAt });
        expect(confirmed?.history).toHaveLength(done?.history.length ?? 0);

        const sooner = new Date(T0 + 8 * 3_600_000).toISOString();
        const { record: boxed } = await store.register.record({
          ...isolated,
          reason: 'time box set to 8h by analyst@contoso.com: case IR-7',
          expiresAt: sooner,
        });
        expect(boxed).toMatchObject({ state: 'isolated', expiresAt: sooner, confirmedAt });
        expect(boxed?.history[0]).toMatchObject({
          state: 'isolated',
          reason: expect.stringMatching(/^time box/),
        });

        const { record: released } = await store.register.record({
          ...isolated,
          state: 'released',
          reason: 'released',
        });
        expect(released).toMatchObject({ expiresAt: null });
        expect(await store.register.get(machine(1))).toEqual(released);
      });

      it('applies a change only from the states given (compare-and-set)', async () => {
        const { store } = await open();
        const first = await store.register.record(isolating(1), { onlyFrom: [null] });
        expect(first.applied).toBe(true);
        const second = await store.register.record(isolating(1, 'req-2'), { onlyFrom: [null, 'released'] });
        expect(second).toEqual({ applied: false, record: first.record });
        expect((await store.register.get(machine(1)))?.requestId).toBe('req-1');
      });

      it('adds a history note and changes nothing else; with onlyFrom the states, never a record of its own', async () => {
        const { store } = await open();
        const isolated = await store.register.record(isolating(1));
        now += MINUTE;
        const noted = await store.register.record(
          { machineId: machine(1), requestId: 'held-2', note: 'held for approval a-1' },
          { onlyFrom: ISOLATION_STATES },
        );
        if (!(noted.applied && isolated.applied)) throw new Error('not written');
        const { history, ...rest } = noted.record;
        const { history: before, ...was } = isolated.record;
        expect(rest).toEqual(was);
        expect(history).toEqual([
          {
            at: new Date(now).toISOString(),
            state: 'isolating',
            requestId: 'held-2',
            actionId: null,
            reason: 'held for approval a-1',
          },
          ...before,
        ]);
        expect(await store.register.get(machine(1))).toEqual(noted.record);
        const none = await store.register.record(
          { machineId: machine(2), requestId: 'held-3', note: 'held for approval a-2' },
          { onlyFrom: ISOLATION_STATES },
        );
        expect(none).toEqual({ applied: false, record: null });
        expect(await store.register.get(machine(2))).toBeNull();
      });

      it('applies a later step only to its own request with sameRequest, never starting a new one', async () => {
        const { store } = await open();
        await store.register.record(isolating(1, 'req-2'));
        const stale = {
          machineId: machine(1),
          state: 'isolating' as const,
          requestId: 'req-1',
          reason: 'late',
        };
        const refused = await store.register.record(stale, { sameRequest: true });
        expect(refused).toMatchObject({ applied: false, record: { requestId: 'req-2' } });
        const own = await store.register.record({ ...stale, requestId: 'req-2' }, { sameRequest: true });
        expect(own).toMatchObject({
          applied: true,
          record: { requestId: 'req-2', history: [{ reason: 'rule matched' }] },
        });
      });

      it('lists devices, by state, bounded', async () => {
        const { store } = await open();
        await store.register.record(isolating(3));
        await store.register.record({ ...isolating(1), state: 'isolated' });
        await store.register.record({ ...isolating(2), state: 'isolated' });
        await store.register.record({ ...isolating(4), state: 'failed' });
        expect((await store.register.list({ state: 'isolated' })).map((r) => r.machineId)).toEqual([
          machine(1),
          machine(2),
        ]);
        expect((await store.register.list()).map((r) => r.state)).toEqual([
          'isolated',
          'isolated',
          'isolating',
          'failed',
        ]);
        expect(await store.register.list({ limit: 2 })).toHaveLength(2);
        expect(await store.register.list({ state: 'released' })).toEqual([]);
        await expect(store.register.list({ limit: 0 })).rejects.toThrow(/limit/);
      });
    });

    describe('open requests by device key', () => {
      const entry = (requestId: string, deviceKey = 'fqdn:ws1.contoso.com'): OpenRequest => ({
        deviceKey,
        requestId,
        action: 'isolate',
        isolationType: 'Selective',
        mode: 'enforce',
        manual: false,
        priority: 5,
        openedAt: new Date(now).toISOString(),
        holder: 'inline-a',
        heldUntil: 0,
        closedAt: null,
        absorbed: [],
        absorbedCount: 0,
      });
      const alert = (n: number): AbsorbedAlert => ({
        requestId: `absorbed-${n}`,
        alertSource: 'mde-alert',
        alertId: `alert-${n}`,
        severity: 'high',
        receivedAt: new Date(now).toISOString(),
      });
      const put = (next: OpenRequest) => () => ({ next, result: true });

      it('opens, reads back and replaces an entry per device key', async () => {
        const { store } = await open();
        expect(await store.openRequests.get('fqdn:ws1.contoso.com')).toBeNull();
        await store.openRequests.update('fqdn:ws1.contoso.com', put(entry('req-1')));
        expect(await store.openRequests.get('fqdn:ws1.contoso.com')).toEqual(entry('req-1'));
        expect(await store.openRequests.get('fqdn:ws2.contoso.com')).toBeNull();
        const answer = await store.openRequests.update('fqdn:ws1.contoso.com', (current) => ({
          next: null,
          result: current?.requestId,
        }));
        expect(answer).toBe('req-1');
      });

      it('applies concurrent updates one after the other: none is lost', async () => {
        const { store, sibling } = await open();
        await store.openRequests.update('fqdn:ws1.contoso.com', put(entry('req-1')));
        await Promise.all(
          [1, 2, 3, 4, 5, 6].map((n) =>
            (n % 2 ? store : sibling).openRequests.update('fqdn:ws1.contoso.com', (current) => {
              if (!current) throw new Error('entry vanished');
              const next = { ...current, absorbed: [...current.absorbed, alert(n)] };
              return { next: { ...next, absorbedCount: next.absorbed.length }, result: undefined };
            }),
          ),
        );
        const stored = await sibling.openRequests.get('fqdn:ws1.contoso.com');
        expect(stored?.absorbed.map((a) => a.requestId).sort()).toEqual(
          [1, 2, 3, 4, 5, 6].map((n) => `absorbed-${n}`),
        );
      });

      it('opens a key only once when two processes race to open it', async () => {
        const { store, sibling } = await open();
        const claim = (s: StateStore, requestId: string) =>
          s.openRequests.update('host:ws1', (current) =>
            current ? { next: null, result: false } : { next: entry(requestId, 'host:ws1'), result: true },
          );
        const won = await Promise.all([claim(store, 'req-a'), claim(sibling, 'req-b')]);
        expect(won.filter(Boolean)).toHaveLength(1);
        const holder = (await store.openRequests.get('host:ws1'))?.requestId;
        expect(holder).toBe(won[0] ? 'req-a' : 'req-b');
      });

      it('keeps at most ABSORBED_MAX absorbed alerts, counting all of them', async () => {
        const { store } = await open();
        const many = Array.from({ length: ABSORBED_MAX + 5 }, (_, n) => alert(n));
        await store.openRequests.update(
          'fqdn:ws1.contoso.com',
          put({ ...entry('req-1'), absorbed: many, absorbedCount: many.length }),
        );
        const stored = await store.openRequests.get('fqdn:ws1.contoso.com');
        expect(stored?.absorbed).toEqual(many.slice(0, ABSORBED_MAX));
        expect(stored?.absorbedCount).toBe(ABSORBED_MAX + 5);
      });

      it("holds an entry while its holder's lease runs, as every instance reads it, and lists the unclosed", async () => {
        const { store, sibling } = await open();
        await store.holders.renew('inline-a', now + MINUTE);
        await store.openRequests.update('fqdn:ws1.contoso.com', put(entry('req-1')));
        await store.openRequests.update(
          'fqdn:ws2.contoso.com',
          put({ ...entry('req-2'), holder: 'inline-b' }),
        );
        await store.openRequests.update('fqdn:ws3.contoso.com', put({ ...entry('req-3'), closedAt: 'x' }));
        expect((await sibling.openRequests.get('fqdn:ws1.contoso.com'))?.heldUntil).toBe(now + MINUTE);
        // A holder that never took a lease holds nothing.
        expect((await sibling.openRequests.get('fqdn:ws2.contoso.com'))?.heldUntil).toBe(0);
        expect((await sibling.openRequests.unclosed()).map((e) => e.requestId).sort()).toEqual([
          'req-1',
          'req-2',
        ]);
        now += MINUTE;
        await store.holders.renew('inline-a', now + MINUTE);
        expect((await sibling.openRequests.get('fqdn:ws1.contoso.com'))?.heldUntil).toBe(now + MINUTE);
        await store.holders.end('inline-a');
        now += MINUTE;
        expect((await sibling.openRequests.get('fqdn:ws1.contoso.com'))?.heldUntil).toBe(0);
      });

      it('stores keys no table key could hold (too long, or with / # ?) apart from each other', async () => {
        const { store } = await open();
        const long = `fqdn:${'a'.repeat(300)}.example`;
        const slashed = 'host:a/b#c?';
        await store.openRequests.update(long, put(entry('req-long', long)));
        await store.openRequests.update(slashed, put(entry('req-slashed', slashed)));
        expect((await store.openRequests.get(long))?.requestId).toBe('req-long');
        expect((await store.openRequests.get(slashed))?.requestId).toBe('req-slashed');
        expect(await store.openRequests.get(`fqdn:${'a'.repeat(300)}.exampl`)).toBeNull();
      });
    });

    describe('machine claims', () => {
      it('lets one request at a time take a machine, across instances, until it releases it or its holder is gone', async () => {
        const { store, sibling } = await open();
        await store.holders.renew('inline-a', now + MINUTE);
        await sibling.holders.renew('inline-b', now + MINUTE);
        expect(await store.machineClaims.take(machine(1), 'req-a', 'inline-a')).toEqual({ taken: true });
        expect(await sibling.machineClaims.take(machine(1), 'req-b', 'inline-b')).toMatchObject({
          taken: false,
          by: { requestId: 'req-a', holder: 'inline-a', heldUntil: now + MINUTE },
        });
        // Another machine, and the holding request itself, are not kept out.
        expect(await sibling.machineClaims.take(machine(2), 'req-b', 'inline-b')).toEqual({ taken: true });
        expect(await store.machineClaims.take(machine(1), 'req-a', 'inline-a')).toEqual({ taken: true });
        // Only the holding request releases it.
        await sibling.machineClaims.release(machine(1), 'req-b', 'inline-b');
        expect((await sibling.machineClaims.take(machine(1), 'req-b', 'inline-b')).taken).toBe(false);
        await store.machineClaims.release(machine(1), 'req-a', 'inline-a');
        expect(await sibling.machineClaims.take(machine(1), 'req-b', 'inline-b')).toEqual({ taken: true });
        // req-b's process stops renewing: past its lease the machine is free for another.
        now += MINUTE + 1;
        await store.holders.renew('inline-a', now + MINUTE);
        expect(await store.machineClaims.take(machine(1), 'req-c', 'inline-a')).toEqual({ taken: true });
      });

      it('keeps a copy of the holding request in another process out while its holder lives', async () => {
        const { store, sibling } = await open();
        await store.holders.renew('service-bus-a', now + MINUTE);
        await sibling.holders.renew('service-bus-b', now + MINUTE);
        expect(await store.machineClaims.take(machine(4), 'req-a', 'service-bus-a')).toEqual({ taken: true });
        // Service Bus redelivered req-a to another instance while the first still checks and posts.
        expect(await sibling.machineClaims.take(machine(4), 'req-a', 'service-bus-b')).toMatchObject({
          taken: false,
          by: { requestId: 'req-a', holder: 'service-bus-a' },
        });
        now += MINUTE + 1;
        await sibling.holders.renew('service-bus-b', now + MINUTE);
        expect(await sibling.machineClaims.take(machine(4), 'req-a', 'service-bus-b')).toEqual({
          taken: true,
        });
      });

      it('is released only by the holder that holds it, not by one whose lease lapsed and lost it', async () => {
        const { store, sibling } = await open();
        await store.holders.renew('service-bus-a', now + MINUTE);
        expect(await store.machineClaims.take(machine(5), 'req-a', 'service-bus-a')).toEqual({ taken: true });
        // The first process stalls past its lease; the request, delivered again, is taken over.
        now += MINUTE + 1;
        await sibling.holders.renew('service-bus-b', now + MINUTE);
        expect(await sibling.machineClaims.take(machine(5), 'req-a', 'service-bus-b')).toEqual({
          taken: true,
        });
        // The first process wakes and lets go: the claim it lost is not its to release.
        await store.holders.renew('service-bus-a', now + MINUTE);
        await store.machineClaims.release(machine(5), 'req-a', 'service-bus-a');
        expect(await store.machineClaims.take(machine(5), 'req-c', 'service-bus-a')).toMatchObject({
          taken: false,
          by: { requestId: 'req-a', holder: 'service-bus-b' },
        });
      });

      it('lets exactly one of two instances take a free machine at the same moment', async () => {
        const { store, sibling } = await open();
        await store.holders.renew('inline-a', now + MINUTE);
        await sibling.holders.renew('inline-b', now + MINUTE);
        const answers = await Promise.all([
          store.machineClaims.take(machine(3), 'req-a', 'inline-a'),
          sibling.machineClaims.take(machine(3), 'req-b', 'inline-b'),
        ]);
        expect(answers.filter((a) => a.taken)).toHaveLength(1);
      });
    });

    describe('blast-radius breaker', () => {
      const limits: BreakerLimits = { limit: 3, windowMs: 60 * MINUTE };
      const auto = (n: number) => ({ requestId: `req-${n}`, manual: false });

      let actions = 0;
      /** A new MDE action id. */
      const action = () => `00000000-0000-4000-8000-${String(++actions).padStart(12, '0')}`;

      async function admitted(store: StateStore, n: number): Promise<string> {
        const admission = await store.breaker.reserve(auto(n), limits);
        if (!admission.allowed) throw new Error(`refused: ${admission.reason}`);
        return admission.reservationId;
      }

      it('counts committed isolations and opens when the window is full', async () => {
        const { store } = await open();
        for (let i = 0; i < 3; i += 1) await store.breaker.commit(await admitted(store, i), action());
        expect(await store.breaker.status(limits)).toMatchObject({ open: false, count: 3, reserved: 0 });
        const refused = await store.breaker.reserve(auto(9), limits);
        expect(refused).toEqual({
          allowed: false,
          open: true,
          reason: expect.stringMatching(/3 isolations in the last 60 min \(limit 3\)/),
        });
        const status = await store.breaker.status(limits);
        expect(status).toMatchObject({
          open: true,
          closesAt: new Date(T0 + 60 * MINUTE),
          reason: refused.allowed ? null : refused.reason,
        });
        // Manual requests are counted, never refused.
        const manual = await store.breaker.reserve({ requestId: 'req-m', manual: true }, limits);
        expect(manual.allowed).toBe(true);
        if (manual.allowed) await store.breaker.commit(manual.reservationId, action());
        expect(await store.breaker.status(limits)).toMatchObject({ open: true, count: 4 });
      });

      it('holds back, without opening, while in-flight POSTs fill the window; a release frees a slot', async () => {
        const { store } = await open();
        const reservations = [await admitted(store, 1), await admitted(store, 2), await admitted(store, 3)];
        const full = await store.breaker.reserve(auto(4), limits);
        expect(full).toEqual({
          allowed: false,
          open: false,
          reason: expect.stringMatching(/in flight/),
          retryAt: T0 + 5 * MINUTE,
        });
        expect(await store.breaker.status(limits)).toMatchObject({ open: false, count: 0, reserved: 3 });
        await store.breaker.release(reservations[0]);
        await store.breaker.release('unknown-reservation');
        expect((await store.breaker.reserve(auto(5), limits)).allowed).toBe(true);
      });

      it('expires a reservation that was never committed, but counts a late commit', async () => {
        const { store } = await open({ reservationTtlMs: MINUTE });
        const lost = await admitted(store, 1);
        await admitted(store, 2);
        await admitted(store, 3);
        now += MINUTE + 1;
        expect(await store.breaker.status(limits)).toMatchObject({ reserved: 0, count: 0 });
        await store.breaker.commit(lost, action());
        expect(await store.breaker.status(limits)).toMatchObject({ reserved: 0, count: 1 });
        expect((await store.breaker.reserve(auto(4), limits)).allowed).toBe(true);
      });

      it('closes after a full window, and committed isolations age out', async () => {
        const { store } = await open();
        await store.breaker.commit(await admitted(store, 1), action());
        await store.breaker.trip('alert A named 50 devices');
        expect(await store.breaker.reserve(auto(2), limits)).toEqual({
          allowed: false,
          open: true,
          reason: 'alert A named 50 devices',
        });
        now += 60 * MINUTE - 1;
        expect(await store.breaker.status(limits)).toMatchObject({ open: true, count: 1 });
        now += 1;
        expect(await store.breaker.status(limits)).toMatchObject({
          open: false,
          reason: null,
          closesAt: null,
          count: 0,
        });
      });

      it('records an operator reset with who and why', async () => {
        const { store } = await open();
        for (let i = 0; i < 3; i += 1) await store.breaker.commit(await admitted(store, i), action());
        await store.breaker.trip('storm');
        now += MINUTE;
        await store.breaker.reset('alice@contoso.com', 'false positive confirmed, rule fixed');
        expect(await store.breaker.status(limits)).toMatchObject({
          open: false,
          count: 0,
          resets: [
            {
              at: new Date(T0 + MINUTE).toISOString(),
              by: 'alice@contoso.com',
              reason: 'false positive confirmed, rule fixed',
            },
          ],
        });
        expect((await store.breaker.reserve(auto(7), limits)).allowed).toBe(true);
      });

      it('counts an action once, however many requests commit it, from any instance', async () => {
        const { store, sibling } = await open();
        const id = action();
        await store.breaker.commit(await admitted(store, 1), id);
        // A retry in another process adopts the same isolation as its own (its POST answer was lost).
        await sibling.breaker.commit(null, id);
        await store.breaker.commit(await admitted(store, 2), id);
        expect(await sibling.breaker.status(limits)).toMatchObject({ count: 1, reserved: 0 });
        await sibling.breaker.commit(null, action());
        expect(await store.breaker.status(limits)).toMatchObject({ count: 2, reserved: 0 });
        await expect(store.breaker.commit(null, 'a/b')).rejects.toThrow(/storage key/);
      });

      it('never admits past the limit under concurrent reservations from two instances', async () => {
        const { store, sibling } = await open({ conflictAttempts: 40 });
        const wide = { limit: 5, windowMs: 60 * MINUTE };
        const results = await Promise.all(
          Array.from({ length: 16 }, (_, i) => (i % 2 ? sibling : store).breaker.reserve(auto(i), wide)),
        );
        const allowed = results.filter((r) => r.allowed);
        expect(allowed).toHaveLength(5);
        expect(results.filter((r) => !r.allowed && !r.open)).toHaveLength(11);
        await Promise.all(
          allowed.map((r, i) =>
            (i % 2 ? sibling : store).breaker.commit(r.allowed ? r.reservationId : '', action()),
          ),
        );
        expect(await sibling.breaker.status(wide)).toMatchObject({ count: 5, reserved: 0, open: false });
      });

      it("applies one instance's concurrent updates together: they never contend with each other", async () => {
        const { store } = await open({ conflictAttempts: 1 });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => store.breaker.reserve(auto(i), limits)),
        );
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        const status = await store.breaker.status(limits);
        expect(status.reserved).toBe(
          results.filter((r) => r.status === 'fulfilled' && r.value.allowed).length,
        );
      });

      acrossInstances?.(
        'gives up on an update contended by another instance with StoreUnavailableError, within its attempts',
        async () => {
          const { store, sibling } = await open({ conflictAttempts: 1 });
          // Each instance writes its concurrent updates together, so two writes meet only when both
          // read before either wrote: rounds until one did. A write from an instance's own current
          // copy needs no read, so only about one round in several can meet: up to 200 rounds.
          // Wide limits: every round writes.
          const wide = { limit: 1_000, windowMs: 60 * MINUTE };
          const results: PromiseSettledResult<Awaited<ReturnType<typeof store.breaker.reserve>>>[] = [];
          for (let round = 0; round < 200 && !results.some((r) => r.status === 'rejected'); round += 1)
            results.push(
              ...(await Promise.allSettled(
                [store, sibling].map((s, i) => s.breaker.reserve(auto(round * 2 + i), wide)),
              )),
            );
          const rejected = results.filter((r) => r.status === 'rejected');
          expect(rejected.length).toBeGreaterThan(0);
          for (const r of rejected)
            expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
          const status = await store.breaker.status(wide);
          expect(status.reserved).toBe(
            results.filter((r) => r.status === 'fulfilled' && r.value.allowed).length,
          );
        },
      );
    });

    describe('action ledger', () => {
      const entry = (n: number, status: 'Pending' | 'Succeeded' | 'InProgress', minute: number) => ({
        machineId: machine(n % 2),
        actionId: `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`,
        requestId: `req-${n}`,
        type: 'Isolate' as const,
        status,
        adopted: n === 3,
        computerDnsName: n === 3 ? null : `ws${n}.contoso.com`,
        createdAt: new Date(T0 + minute * MINUTE).toISOString(),
        recordedAt: new Date(T0 + minute * MINUTE).toISOString(),
        ...(n !== 3 && { deviceKey: `fqdn:ws${n}.contoso.com` }),
      });

      it('finds actions by machine and by request, and lists the open ones a page at a time', async () => {
        const { store, sibling } = await open();
        await store.actions.record(entry(1, 'Pending', 2));
        await store.actions.record(entry(2, 'Succeeded', 1));
        await store.actions.record(entry(3, 'InProgress', 0));
        await store.actions.record(entry(5, 'Pending', 3));
        expect((await sibling.actions.forMachine(machine(1))).map((e) => e.requestId)).toEqual([
          'req-5',
          'req-1',
          'req-3',
        ]);
        expect(await sibling.actions.forRequest('req-3')).toEqual({
          ...entry(3, 'InProgress', 0),
          open: true,
          deviceKey: null,
        });
        expect(await sibling.actions.forRequest('req-404')).toBeNull();
        // Another request adopts req-5's action: it follows it now.
        await store.actions.record({ ...entry(5, 'Pending', 3), requestId: 'req-6', adopted: true });
        expect(await sibling.actions.forRequest('req-5')).toBeNull();
        expect(await sibling.actions.forRequest('req-6')).toMatchObject({
          actionId: entry(5, 'Pending', 3).actionId,
        });
        expect((await sibling.actions.open()).map((e) => e.requestId)).toEqual(['req-1', 'req-3', 'req-6']);
        const [first] = await sibling.actions.open({ limit: 1 });
        expect((await sibling.actions.open({ after: first })).map((e) => e.requestId)).toEqual([
          'req-3',
          'req-6',
        ]);
        await store.actions.setStatus(machine(1), entry(1, 'Pending', 2).actionId, 'Succeeded');
        await store.actions.setStatus(machine(1), '00000000-0000-4000-8000-999999999999', 'Failed');
        expect((await sibling.actions.open({ limit: 2 })).map((e) => e.requestId)).toEqual([
          'req-3',
          'req-6',
        ]);
        expect(await sibling.actions.forRequest('req-1')).toMatchObject({
          status: 'Succeeded',
          open: false,
          deviceKey: 'fqdn:ws1.contoso.com',
        });
        await expect(
          store.actions.setStatus(machine(1), entry(3, 'Pending', 0).actionId, 'Done' as 'Failed'),
        ).rejects.toThrow(/status/);
      });

      it("deletes a machine's closed entries older than the register's retention at its next write", async () => {
        const { store, sibling } = await open({ historyRetentionMs: 40 * DAY });
        await store.actions.record(entry(1, 'Succeeded', 0));
        await store.actions.record(entry(3, 'Pending', 0));
        await store.actions.record(entry(5, 'Pending', 0));
        await store.actions.abandon(machine(1), entry(5, 'Pending', 0).actionId);
        await store.actions.record(entry(2, 'Succeeded', 0));
        now += 41 * DAY;
        await store.actions.record(entry(7, 'Pending', (41 * DAY) / MINUTE));
        // Machine 1's closed entries (ended, abandoned) are gone with their request index; the one
        // still followed stays, and so does machine 0's, which nothing wrote since.
        expect((await sibling.actions.forMachine(machine(1))).map((e) => e.requestId)).toEqual([
          'req-7',
          'req-3',
        ]);
        expect(await sibling.actions.forRequest('req-1')).toBeNull();
        expect(await sibling.actions.forRequest('req-5')).toBeNull();
        expect((await sibling.actions.forMachine(machine(0))).map((e) => e.requestId)).toEqual(['req-2']);
        // An entry another request adopted goes with the index row of the request that follows it.
        await store.actions.record({
          ...entry(7, 'Pending', (41 * DAY) / MINUTE),
          requestId: 'req-8',
          adopted: true,
        });
        await store.actions.setStatus(
          machine(1),
          entry(7, 'Pending', (41 * DAY) / MINUTE).actionId,
          'Succeeded',
        );
        now += 41 * DAY;
        await store.actions.record(entry(9, 'Pending', (82 * DAY) / MINUTE));
        expect((await sibling.actions.forMachine(machine(1))).map((e) => e.requestId)).toEqual([
          'req-9',
          'req-3',
        ]);
        expect(await sibling.actions.forRequest('req-8')).toBeNull();
      });

      it("prunes from the machine's listing read just before the write, and keeps what changed since", async () => {
        const { store, sibling } = await open({ historyRetentionMs: 40 * DAY });
        await store.actions.record(entry(1, 'Succeeded', 0));
        await store.actions.record(entry(5, 'Succeeded', 0));
        now += 41 * DAY;
        // The worker lists the machine's ledger before its POST, then records the action it posted.
        await store.actions.forMachine(machine(1));
        // Another process writes one of the listed entries meanwhile: no longer what was listed.
        await sibling.actions.setStatus(machine(1), entry(5, 'Succeeded', 0).actionId, 'Failed');
        await store.actions.record(entry(7, 'Pending', (41 * DAY) / MINUTE));
        expect((await sibling.actions.forMachine(machine(1))).map((e) => e.requestId)).toEqual([
          'req-7',
          'req-5',
        ]);
        expect(await sibling.actions.forRequest('req-1')).toBeNull();
      });

      it("keeps a closed entry while provenance may still read its action in MDE's history, whatever the register's retention", async () => {
        // The entry is the only proof this app posted the isolation when its identity is unknown
        // (dispatch/steps/ownership.ts); MDE lists the action for HISTORY_LOOKBACK_DAYS.
        const { store, sibling } = await open({ historyRetentionMs: DAY });
        await store.actions.record(entry(1, 'Succeeded', 0));
        now += 2 * DAY;
        await store.actions.record(entry(3, 'Pending', (2 * DAY) / MINUTE));
        expect((await sibling.actions.forMachine(machine(1))).map((e) => e.requestId)).toEqual([
          'req-3',
          'req-1',
        ]);
        expect(await sibling.actions.forRequest('req-1')).toMatchObject({ status: 'Succeeded' });
        now += 30 * DAY;
        await store.actions.record(entry(5, 'Pending', (32 * DAY) / MINUTE));
        expect((await sibling.actions.forMachine(machine(1))).map((e) => e.requestId)).toEqual([
          'req-5',
          'req-3',
        ]);
      });

      it('closes an abandoned action with its last status, and a late status reopens nothing', async () => {
        const { store, sibling } = await open();
        const pending = entry(1, 'Pending', 0);
        await store.actions.record(pending);
        await store.actions.abandon(pending.machineId, pending.actionId);
        await store.actions.abandon(pending.machineId, '00000000-0000-4000-8000-999999999999');
        expect(await sibling.actions.open()).toEqual([]);
        expect(await sibling.actions.forRequest('req-1')).toMatchObject({ status: 'Pending', open: false });
        await sibling.actions.setStatus(pending.machineId, pending.actionId, 'InProgress');
        expect(await store.actions.forRequest('req-1')).toMatchObject({ status: 'InProgress', open: false });
        expect(await store.actions.open()).toEqual([]);
      });
    });

    describe('quota budget', () => {
      const read = (store: StateStore) =>
        store.quota.update('isolate', (doc) => ({ next: null, result: doc }));

      it('round-trips every share of an API, and another API reads empty', async () => {
        const { store, sibling } = await open();
        expect(await read(store)).toEqual({ shares: [], pausedUntil: 0 });
        const stamps = Array.from({ length: 1_500 }, (_, i) => T0 + i * 7);
        const doc = {
          shares: [
            { holder: 'ended', stamps: [T0, T0 + 1], held: 0 },
            { holder: 'service-bus-a', stamps, held: 10 },
            { holder: 'inline-b', stamps: [], held: 3 },
          ],
          pausedUntil: T0 + 30_000,
        };
        await store.quota.update('isolate', () => ({ next: doc, result: undefined }));
        expect(await read(sibling)).toEqual(doc);
        expect(await sibling.quota.update('machines', (d) => ({ next: null, result: d }))).toEqual({
          shares: [],
          pausedUntil: 0,
        });
      });

      it("applies two processes' updates one after the other, neither lost", async () => {
        const { store, sibling } = await open();
        const add = (target: StateStore, holder: string) =>
          target.quota.update('isolate', (doc) => ({
            next: { ...doc, shares: [...doc.shares, { holder, stamps: [T0], held: 1 }] },
            result: undefined,
          }));
        await Promise.all([add(store, 'holder-a'), add(sibling, 'holder-b')]);
        expect((await read(store)).shares.map((s) => s.holder).sort()).toEqual(['holder-a', 'holder-b']);
      });

      it('refuses an unknown API, more shares than allowed and a holder unusable as a key', async () => {
        const { store } = await open();
        await expect(
          store.quota.update('delete' as 'isolate', () => ({ next: null, result: undefined })),
        ).rejects.toThrow(/unknown MDE API/);
        const shares = Array.from({ length: QUOTA_SHARES_MAX + 1 }, (_, i) => ({
          holder: `holder-${i}`,
          stamps: [],
          held: 1,
        }));
        await expect(
          store.quota.update('isolate', () => ({ next: { shares, pausedUntil: 0 }, result: undefined })),
        ).rejects.toThrow(/quota shares, over/);
        await expect(
          store.quota.update('isolate', () => ({
            next: { shares: [{ holder: 'a/b', stamps: [], held: 1 }], pausedUntil: 0 },
            result: undefined,
          })),
        ).rejects.toThrow(/holder id/);
      });
    });
  });
}
