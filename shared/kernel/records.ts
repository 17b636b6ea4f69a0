/** A JSON object, as read from untrusted input or a parsed document. */
export type JsonRecord = Record<string, unknown>;

/** True for a plain object: not null, not an array. */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
