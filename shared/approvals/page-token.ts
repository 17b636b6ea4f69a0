/**
 * The approval page's form token: an HMAC of who the signed-in caller is, keyed with the approval's
 * own random key, so a token is good for one approval and one person only. A cross-site form cannot
 * read it from the page (the browser's same-origin rule), so it cannot send it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../manual/caller';
import type { ApprovalRecord } from '../state/store';

function callerKey(caller: Caller): string {
  return caller.objectId ?? caller.label;
}

export function pageToken(record: ApprovalRecord, caller: Caller): string {
  return createHmac('sha256', record.pageKey)
    .update(`${record.id}\n${callerKey(caller)}`)
    .digest('base64url');
}

export function tokenMatches(record: ApprovalRecord, caller: Caller, given: string): boolean {
  const expected = Buffer.from(pageToken(record, caller));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
