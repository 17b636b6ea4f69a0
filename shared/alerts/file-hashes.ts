/**
 * File SHA1 hashes a payload names. A SHA1 is 40 hex characters, exactly like an MDE device id, and
 * relays have been seen repeating it in an id-named field of a File entity or evidence row, so a value
 * the payload itself calls a file hash is never taken for a device id (docs/architecture.md §5).
 */

import { isRecord } from '../kernel/records';
import { field, parseIfJsonText, text } from './fields';

const SHA1 = /^[0-9a-f]{40}$/i;
// `sha1`, `SHA1`, `InitiatingProcessSHA1`, `hashValue`, `FileHashValue`: every spelling families use.
const HASH_KEY = /sha1|hash/i;
const MAX_DEPTH = 24;

function addSha1(value: unknown, into: Set<string>): void {
  for (const item of Array.isArray(value) ? value : [value]) {
    const hash = text(item);
    if (hash && SHA1.test(hash)) into.add(hash.toLowerCase());
  }
}

/**
 * Adds to `into` every SHA1 under a hash-named key, or in a `{ Algorithm: "SHA1", Value }` FileHash
 * entity. JSON relayed as a string (an `Entities` column, an `additionalData` or `relatedEntities`
 * serialized by a relay) is decoded as the parsers decode it, so the guard sees what they see.
 */
export function collectFileHashes(given: unknown, into: Set<string>, depth = 0): void {
  if (depth > MAX_DEPTH) return;
  const value = parseIfJsonText(given);
  if (Array.isArray(value)) {
    for (const item of value) collectFileHashes(item, into, depth + 1);
    return;
  }
  if (!isRecord(value)) return;
  if (text(field(value, 'algorithm'))?.toLowerCase() === 'sha1') addSha1(field(value, 'value'), into);
  for (const key of Object.keys(value)) {
    const child = value[key];
    if (HASH_KEY.test(key)) addSha1(child, into);
    if (typeof child === 'object' || typeof child === 'string') collectFileHashes(child, into, depth + 1);
  }
}
