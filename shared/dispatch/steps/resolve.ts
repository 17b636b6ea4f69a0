/**
 * Turns a device reference from an alert into exactly one MDE machine, or says why it cannot.
 * Lookups are exact (id, FQDN, Entra device id, short host name, internal IP), never a substring, and
 * a name that matches several live machines is refused: isolating the wrong one of two is an outage.
 * An FQDN MDE does not know never falls back to a namesake in another domain (`ws1.partner.example`
 * is not `ws1.contoso.local`). Results are cached briefly, so a storm of alerts about one device
 * spends one lookup.
 */

import type { DeviceRef } from '../../alerts/model';
import { type Clock, DAY_MS } from '../../kernel/clock';
import type { MdeApi } from '../../mde/api';
import { NotFoundError } from '../../mde/errors';
import type { Machine } from '../../mde/types';

export type Resolution =
  | { kind: 'machine'; machine: Machine; via: string }
  | { kind: 'ambiguous'; via: string; candidates: Machine[] }
  /** `namesakes`: machines sharing the short name in another domain, refused as not this device. */
  | { kind: 'not-found'; tried: string[]; namesakes: Machine[] };

/**
 * A duplicate record (re-onboarded or renamed device) that has not reported for this long next to a
 * live one is taken as stale, and the live one wins. Closer than that, both may be real devices
 * sharing a name, and only a person can tell which one the alert meant.
 */
export const STALE_DUPLICATE_MS = 30 * DAY_MS;

export interface Lookup {
  key: string;
  run: (api: MdeApi) => Promise<Machine[]>;
  /** Which of the lookup's matches may be this device; the others are namesakes. All by default. */
  accepts?: (machine: Machine) => boolean;
}

/** A label of digits only is part of an IP address, never a host name (`10` of `10.99.99.99.`). */
const NUMERIC_LABEL = /^\d+$/;

/**
 * When the alert gives the FQDN and MDE does not know it, a short-name match is this device only if
 * MDE's record is the bare name (a device MDE knows without its domain), or the alert's Entra device
 * id confirms it. An IP never does: partner networks reuse the same private ranges.
 */
function confirmsDomainless(device: DeviceRef): (machine: Machine) => boolean {
  const aad = device.aadDeviceId?.toLowerCase();
  return (machine) =>
    !(machine.computerDnsName ?? '').includes('.') ||
    (aad !== undefined && machine.aadDeviceId?.toLowerCase() === aad);
}

/** The lookups a reference allows, strongest first. */
export function lookupsFor(device: DeviceRef): Lookup[] {
  const lookups: Lookup[] = [];
  const id = device.mdeDeviceId;
  if (id) lookups.push({ key: `id:${id.toLowerCase()}`, run: (api) => getById(api, id) });
  // A bare name given as the DNS name (workgroup devices, some alert fields) is a short host name: the
  // host name lookup also matches it exactly, so one call covers both.
  const fqdn = device.fqdn?.includes('.') ? device.fqdn : undefined;
  if (fqdn)
    lookups.push({ key: `fqdn:${fqdn.toLowerCase()}`, run: (api) => api.findMachinesByDnsName(fqdn) });
  const aad = device.aadDeviceId;
  if (aad)
    lookups.push({ key: `aad:${aad.toLowerCase()}`, run: (api) => api.findMachinesByAadDeviceId(aad) });
  const host = device.hostname ?? (fqdn ? undefined : device.fqdn);
  if (host && !NUMERIC_LABEL.test(host))
    lookups.push({
      key: `host:${host.toLowerCase()}`,
      run: (api) => api.findMachinesByHostname(host),
      accepts: fqdn ? confirmsDomainless(device) : undefined,
    });
  // An IP names whoever held it recently; it is the weakest clue and only used when nothing else is given.
  if (lookups.length === 0)
    for (const ip of device.ipAddresses ?? [])
      lookups.push({ key: `ip:${ip}`, run: (api) => api.findMachinesByIp(ip) });
  return lookups;
}

async function getById(api: MdeApi, id: string): Promise<Machine[]> {
  try {
    return [await api.getMachine(id)];
  } catch (error) {
    if (error instanceof NotFoundError) return [];
    throw error;
  }
}

/** Picks one machine from the matches of an exact lookup, or null when they are ambiguous. */
export function pickMachine(candidates: Machine[]): Machine | null {
  const unique = [...new Map(candidates.map((m) => [m.id, m])).values()];
  if (unique.length === 1) return unique[0];
  if (unique.length === 0) return null;
  const byRecency = [...unique].sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen));
  const newest = Date.parse(byRecency[0].lastSeen);
  const othersStale = byRecency.slice(1).every((m) => newest - Date.parse(m.lastSeen) > STALE_DUPLICATE_MS);
  return othersStale ? byRecency[0] : null;
}

function accepted(lookup: Lookup, machines: Machine[]): Machine[] {
  const { accepts } = lookup;
  return accepts ? machines.filter(accepts) : machines;
}

export class DeviceResolver {
  private readonly cache = new Map<string, { machines: Machine[]; expiresAt: number }>();

  constructor(
    private readonly api: MdeApi,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Machines-API calls the next `resolve` of this device may make (0 when the answer is cached). */
  callsNeeded(device: DeviceRef): number {
    const lookups = lookupsFor(device);
    return lookups.length === 0 || this.cached(lookups[0].key) ? 0 : 1;
  }

  /** The machine a cached lookup already names for this device, without any call. */
  peek(device: DeviceRef): Machine | null {
    for (const lookup of lookupsFor(device)) {
      const cached = this.cached(lookup.key);
      if (cached === null) return null;
      const machines = accepted(lookup, cached);
      if (machines.length > 0) return pickMachine(machines);
    }
    return null;
  }

  async resolve(device: DeviceRef): Promise<Resolution> {
    const tried: string[] = [];
    const namesakes: Machine[] = [];
    for (const lookup of lookupsFor(device)) {
      tried.push(lookup.key);
      const found = await this.lookup(lookup);
      const machines = accepted(lookup, found);
      namesakes.push(...found.filter((m) => !machines.includes(m)));
      if (machines.length === 0) continue;
      const machine = pickMachine(machines);
      if (!machine) return { kind: 'ambiguous', via: lookup.key, candidates: machines };
      return { kind: 'machine', machine, via: lookup.key };
    }
    return { kind: 'not-found', tried, namesakes };
  }

  private cached(key: string): Machine[] | null {
    const entry = this.cache.get(key);
    if (!entry) return null;
    if (entry.expiresAt > this.clock.now()) return entry.machines;
    this.cache.delete(key);
    return null;
  }

  private async lookup(lookup: Lookup): Promise<Machine[]> {
    const hit = this.cached(lookup.key);
    if (hit) return hit;
    const machines = await lookup.run(this.api);
    const now = this.clock.now();
    const expiresAt = now + this.ttlMs;
    this.cache.set(lookup.key, { machines, expiresAt });
    // A record found by name is also the answer to a lookup by its id (the reverse does not hold: an
    // id says nothing about other records sharing the name), so a later alert naming it by id is free.
    for (const machine of machines)
      this.cache.set(`id:${machine.id.toLowerCase()}`, { machines: [machine], expiresAt });
    // Evict expired entries now and then, so a long-running worker's cache stays small.
    if (this.cache.size % 1000 === 0)
      for (const [key, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(key);
    return machines;
  }
}
