/**
 * Building OData queries from untrusted values. Host names and tags come from alert payloads an
 * attacker may shape, so every value goes through one literal encoder: a quote inside a value is
 * doubled, which keeps it inside the literal and can never add a clause to the query.
 */

/** An OData V4 string literal: single quotes, embedded quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function odataEq(property: string, value: string): string {
  return `${property} eq ${odataString(value)}`;
}

/** `a or b or c`, parenthesised so it combines safely with `and`. */
export function odataAnyOf(property: string, values: readonly string[]): string {
  if (values.length === 1) return odataEq(property, values[0]);
  return `(${values.map((value) => odataEq(property, value)).join(' or ')})`;
}

/** OData V4 date-time literal (no quotes), second precision as in the MDE examples. */
export function odataDateTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
