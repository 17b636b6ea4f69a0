/**
 * Reading untrusted JSON. Payload families spell the same key in different cases, nest JSON inside
 * strings and come from attackers' reach, so every read goes through these helpers: own properties only
 * (a `constructor` or `__proto__` key never resolves to Object.prototype), case-insensitive on demand,
 * and never a throw.
 */
import { isRecord, type JsonRecord } from '../kernel/records';

/** The first own property matching one of `names`, exactly or else ignoring case. */
export function field(record: unknown, ...names: string[]): unknown {
  if (!isRecord(record)) return undefined;
  for (const name of names) {
    if (Object.hasOwn(record, name)) return record[name];
  }
  // The hottest function of intake: compare lengths before lower-casing anything.
  const keys = Object.keys(record);
  for (const name of names) {
    const wanted = name.toLowerCase();
    for (const key of keys) {
      if (key.length === wanted.length && key.toLowerCase() === wanted) return record[key];
    }
  }
  return undefined;
}

/** A non-empty trimmed string; numbers are accepted because ids arrive as both (incidentId 18344 vs "18344"). */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed ? trimmed : undefined;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export function textField(record: unknown, ...names: string[]): string | undefined {
  return text(field(record, ...names));
}

export function recordField(record: unknown, ...names: string[]): JsonRecord | undefined {
  const value = parseIfJsonText(field(record, ...names));
  return isRecord(value) ? value : undefined;
}

export function listField(record: unknown, ...names: string[]): unknown[] {
  const value = parseIfJsonText(field(record, ...names));
  return Array.isArray(value) ? value : [];
}

/**
 * Columns such as `Entities`, `ExtendedProperties`, `Techniques` and `AdditionalFields` are JSON
 * documents serialized into a string in Log Analytics rows; the same fields are real JSON elsewhere.
 */
export function parseIfJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return value;
  try {
    return JSON.parse(trimmed);
  } catch {
    // Not JSON after all (or nested too deep to parse): the caller treats it as the plain string it is.
    return value;
  }
}

/** Strings of a list, a JSON-array string, or a comma-separated string (`Intent`, `Tactics`). */
export function stringList(value: unknown): string[] {
  const parsed = parseIfJsonText(value);
  const items = Array.isArray(parsed) ? parsed : typeof parsed === 'string' ? parsed.split(',') : [];
  // A set: an alert can list tens of thousands of items, and a list's `includes` would make this quadratic.
  const out = new Set<string>();
  for (const item of items) {
    const value = text(item);
    if (value) out.add(value);
  }
  return [...out];
}

export function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}
