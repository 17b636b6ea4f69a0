/**
 * Shapes of the identifiers the client sends. Checked before any call so that a SHA1 hash, a name
 * or a crafted string never reaches a URL path or a query.
 */
import { isIP } from 'node:net';
import { GUID, MDE_DEVICE_ID } from '../kernel/ids';

/** The trimmed value in lower case when it matches `shape`; null otherwise, also for a non-string. */
function lowerCaseIfShaped(shape: RegExp, value: string): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return shape.test(trimmed) ? trimmed.toLowerCase() : null;
}

/** The MDE machine id in its canonical lower case, or null when it is not 40 hex characters. */
export function canonicalMachineId(value: string): string | null {
  return lowerCaseIfShaped(MDE_DEVICE_ID, value);
}

/** A GUID (MachineAction id, Entra device id) in lower case, or null. */
export function canonicalGuid(value: string): string | null {
  return lowerCaseIfShaped(GUID, value);
}

/**
 * An IPv4 or IPv6 address as given (trimmed), or null. An IPv6 zone (`fe80::1%eth0`) is refused:
 * it means nothing to MDE, and its `%` would be read as a percent-escape in the URL path.
 */
export function canonicalIp(value: string): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return isIP(trimmed) && !trimmed.includes('%') ? trimmed : null;
}
