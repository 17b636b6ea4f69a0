/** What every payload family provides to detection (parse.ts): its required fields and its parser. */

import { isRecord, type JsonRecord } from '../kernel/records';
import { field, text } from './fields';
import type { AlertSource, NormalizedAlert } from './model';

/** A field a family's payload must carry; `name` is how a 422 names it when missing. */
export interface RequiredField {
  name: string;
  present(body: JsonRecord): boolean;
}

export interface AlertFamily {
  source: AlertSource;
  /** For people reading a 422: the family as its senders know it. */
  label: string;
  required: RequiredField[];
  /** Pure; may throw PayloadError for a value that makes the payload unusable. */
  parse(body: JsonRecord): NormalizedAlert[];
}

/** A payload of a known family with a value no parser can use; becomes a 422 naming the field. */
export class PayloadError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** A dotted path, unless the body has the whole path as one key (`@odata.type` is a key, not a path). */
function valueAt(body: unknown, path: string): unknown {
  const whole = field(body, path);
  if (whole !== undefined) return whole;
  let current = body;
  for (const name of path.split('.')) current = field(current, name);
  return current;
}

/** The field exists (case-insensitive at every level), whatever its value, null included. */
export function has(path: string): RequiredField {
  return { name: path, present: (body) => valueAt(body, path) !== undefined };
}

export function hasText(path: string, equals?: string): RequiredField {
  return {
    name: equals ? `${path} = "${equals}"` : path,
    present: (body) => {
      const value = text(valueAt(body, path));
      return value !== undefined && (!equals || value.toLowerCase() === equals.toLowerCase());
    },
  };
}

export function hasRecord(path: string): RequiredField {
  return { name: path, present: (body) => isRecord(valueAt(body, path)) };
}

export function anyOf(...fields: RequiredField[]): RequiredField {
  return {
    name: fields.map((f) => f.name).join(' or '),
    present: (body) => fields.some((f) => f.present(body)),
  };
}
