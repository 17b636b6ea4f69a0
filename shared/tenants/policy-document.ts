/**
 * A tenant's policy document: the deployment's with the tenant's override (MDE_TENANTS `policy`)
 * merged in and validated by the policy's own validator (docs/decisions/0032-tenant-policy-override.md).
 * Rules and protections are matched by name, named sections replace the deployment's, and the version
 * says the tenant's policy decided. Kept apart from compiling it (policy.ts), as policy/read.ts is from
 * policy/load.ts, so the configuration check refuses a bad override without loading the engine.
 */
import { createHash } from 'node:crypto';
import { SETTINGS, type SettingProblem } from '../config';
import { isRecord, type JsonRecord } from '../kernel/records';
import type { PolicyDocument } from '../policy/document';
import { validatePolicy } from '../policy/validate';
import type { Tenant } from './tenant';

/** The lists merged entry by entry, by name; every other field replaces the deployment's. */
const NAMED_LISTS = ['protections', 'rules'] as const;
type NamedList = (typeof NAMED_LISTS)[number];
const ENTRY_WORD: Record<NamedList, string> = { protections: 'protection', rules: 'rule' };

/** Where an entry of a merged list came from, so a problem is named where the operator wrote it. */
type EntryOrigin = { from: 'tenant'; index: number } | { from: 'deployment'; name: string };

interface Merge {
  document: JsonRecord;
  origins: Record<NamedList, EntryOrigin[]>;
  /** Problems of the override itself, each a path under the override and what is wrong. */
  problems: string[];
}

/** The schema caps a version at 64 characters; the tenant's takes `+` and the digest after it. */
const VERSION_MAX = 64;
const DIGEST_LENGTH = 8;

const lowerName = (entry: unknown): string | null =>
  isRecord(entry) && typeof entry.name === 'string' ? entry.name.toLowerCase() : null;

/** `{ "name": "x", "remove": true }` takes the deployment's entry of that name out. */
const isRemoval = (entry: unknown): entry is JsonRecord => isRecord(entry) && 'remove' in entry;

/**
 * The deployment's entries, each replaced by the override's entry of the same name or removed by it,
 * after the override's new entries for rules (first match wins, and a tenant's own rule is the more
 * specific one; behind a deployment's catch-all it would never be reached) and after the deployment's
 * own for protections (the first matching protection decides: the deployment's guards keep theirs).
 */
function mergeList(
  list: NamedList,
  deployment: readonly JsonRecord[],
  override: readonly unknown[],
  problems: string[],
): { entries: unknown[]; origins: EntryOrigin[] } {
  const deployed = new Set(deployment.map(lowerName));
  const replacing = new Map<string, { entry: unknown; index: number }>();
  const removing = new Set<string>();
  const added: { entry: unknown; index: number }[] = [];
  const named = new Map<string, number>();
  override.forEach((entry, index) => {
    const at = `${list}[${index}]`;
    const name = lowerName(entry);
    const earlier = name === null ? undefined : named.get(name);
    if (earlier !== undefined) {
      problems.push(`${at}.name: names the ${ENTRY_WORD[list]} ${list}[${earlier}] names; give each once`);
      return;
    }
    if (name !== null) named.set(name, index);
    if (isRemoval(entry)) {
      if (entry.remove !== true || Object.keys(entry).some((key) => key !== 'name' && key !== 'remove'))
        problems.push(`${at}: a removal is { "name": "…", "remove": true } and nothing else`);
      else if (name === null || !deployed.has(name))
        problems.push(
          `${at}: removes ${ENTRY_WORD[list]} '${String(entry.name).slice(0, 64)}', which the deployment's policy does not have`,
        );
      else removing.add(name);
      return;
    }
    if (name !== null && deployed.has(name)) replacing.set(name, { entry, index });
    else added.push({ entry, index });
  });
  const kept = deployment.flatMap((entry) => {
    const name = lowerName(entry) as string;
    if (removing.has(name)) return [];
    const replacement = replacing.get(name);
    return [
      replacement
        ? { entry: replacement.entry, origin: { from: 'tenant', index: replacement.index } as const }
        : { entry, origin: { from: 'deployment', name: String(entry.name) } as const },
    ];
  });
  const fresh = added.map(({ entry, index }) => ({ entry, origin: { from: 'tenant', index } as const }));
  const merged = list === 'rules' ? [...fresh, ...kept] : [...kept, ...fresh];
  return { entries: merged.map((m) => m.entry), origins: merged.map((m) => m.origin) };
}

function merge(deployment: PolicyDocument, override: JsonRecord): Merge {
  const problems: string[] = [];
  const origins: Record<NamedList, EntryOrigin[]> = { protections: [], rules: [] };
  const base = deployment as unknown as JsonRecord;
  for (const list of NAMED_LISTS)
    origins[list] = ((base[list] as JsonRecord[] | undefined) ?? []).map((entry) => ({
      from: 'deployment',
      name: String(entry.name),
    }));
  // Built from entries, never by assignment: a key such as `__proto__` stays a field the validator refuses.
  const fields = new Map(Object.entries(base));
  for (const [key, value] of Object.entries(override)) {
    if (key === 'version') {
      problems.push(
        `version: is the deployment's version and a digest of the tenant's policy, never written: leave it out`,
      );
      continue;
    }
    // ISOLATION_MODE is a deployment's switch: a tenant may be held in dry run, never enforced past it.
    if (key === 'mode' && value !== 'dry-run') {
      problems.push(
        `mode: only "dry-run" (holds this tenant in dry run); where the deployment enforces, its tenants do`,
      );
      continue;
    }
    const list = NAMED_LISTS.find((name) => name === key);
    if (list && Array.isArray(value)) {
      const merged = mergeList(list, (base[list] as JsonRecord[] | undefined) ?? [], value, problems);
      fields.set(list, merged.entries);
      origins[list] = merged.origins;
    } else if (value === null && !list) fields.delete(key);
    else {
      fields.set(key, value);
      // A list the validator will refuse as a whole has no entries of the deployment left to name.
      if (list) origins[list] = [];
    }
  }
  return { document: Object.fromEntries(fields), origins, problems };
}

/** JSON with every object's keys in order, so the same policy always has the same digest. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isRecord(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/**
 * The deployment's version when the override changes nothing, else the deployment's (shortened to
 * fit the schema's cap) with a digest of the whole merged document: records name the policy that
 * decided, and a changed override is a different policy even when nobody renamed anything.
 */
function tenantVersion(deployment: PolicyDocument, override: JsonRecord, merged: JsonRecord): string {
  const text = canonicalJson(merged);
  // A tenant held in dry run decides in another mode than an enforcing deployment, document unchanged.
  if (text === canonicalJson(deployment) && !('mode' in override)) return deployment.version;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, DIGEST_LENGTH);
  return `${deployment.version.slice(0, VERSION_MAX - DIGEST_LENGTH - 1)}+${digest}`;
}

/** JSON pointer segments as a path under the override: `.rules[3].action`. */
function pathOf(segments: readonly string[]): string {
  return segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
}

/**
 * Where a pointer into the merged document is, in the operator's words: a path under the override
 * (`policy.rules[0].action`), or the deployment's entry by name when the problem sits in one of them
 * (a tenant's catch-all rule leaves the deployment's rules unreachable).
 */
function placeOf(pointer: string, origins: Merge['origins']): { inOverride: boolean; text: string } {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const list = NAMED_LISTS.find((name) => name === segments[0]);
  const origin = list && segments[1] !== undefined ? origins[list][Number(segments[1])] : undefined;
  if (!list || !origin) return { inOverride: true, text: `policy${pathOf(segments)}` };
  const field = pathOf(segments.slice(2));
  if (origin.from === 'tenant') return { inOverride: true, text: `policy.${list}[${origin.index}]${field}` };
  const text = `the deployment's ${ENTRY_WORD[list]} '${origin.name}'${field ? ` (${field.slice(1)})` : ''}`;
  return { inOverride: false, text };
}

/** A validator's message names other entries by pointer (`already used by /rules/0`): named the same way. */
function restate(message: string, origins: Merge['origins']): string {
  return message.replace(/\/(?:rules|protections)\/\d+/g, (pointer) => placeOf(pointer, origins).text);
}

export type TenantReading = { valid: true; document: PolicyDocument } | { valid: false; problems: string[] };

/**
 * The tenant's policy document, merged and validated; or every problem, each starting with where it
 * is under `at` (`[2].policy.rules[0].action: …`).
 */
export function readTenantPolicy(
  deployment: PolicyDocument,
  override: JsonRecord,
  at: string,
): TenantReading {
  const merged = merge(deployment, override);
  const document = { ...merged.document, version: tenantVersion(deployment, override, merged.document) };
  const validation = validatePolicy(document);
  const problems = [
    ...merged.problems.map((problem) => `${at}.policy.${problem}`),
    ...validation.errors.map((error) => {
      const place = placeOf(error.path, merged.origins);
      const where = place.inOverride ? `${at}.${place.text}` : `${at}.policy: ${place.text}`;
      return `${where}: ${restate(error.message, merged.origins)}`;
    }),
  ];
  if (problems.length > 0 || !validation.valid) return { valid: false, problems };
  return { valid: true, document: validation.policy };
}

/**
 * Every tenant's merged policy checked at start, a problem per issue as the tenant list's own
 * (`MDE_TENANTS: [2].policy.rules[0].action: …`), so a bad override stops the app like a bad setting.
 */
export function tenantPolicyProblems(
  deployment: PolicyDocument,
  tenants: readonly Tenant[],
): SettingProblem[] {
  return tenants.flatMap((tenant, index) => {
    if (tenant.policyOverride === null) return [];
    const reading = readTenantPolicy(deployment, tenant.policyOverride, `[${index}]`);
    return reading.valid ? [] : reading.problems.map((message) => ({ setting: SETTINGS.tenants, message }));
  });
}
