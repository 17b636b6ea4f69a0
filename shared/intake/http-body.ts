/**
 * The HTTP edge of intake, kept out of the function file so it stays thin and testable without the
 * Functions host: method, media type and size checks, a bounded body read, and JSON decoding.
 */
import type { ReadableStream } from 'node:stream/web';
import { field } from '../alerts/fields';
import { isRecord } from '../kernel/records';

export interface HttpProblem {
  status: 400 | 405 | 413 | 415;
  code:
    | 'invalid-json'
    | 'method-not-allowed'
    | 'body-too-large'
    | 'too-many-items'
    | 'unsupported-media-type';
  message: string;
  path?: string;
}

/**
 * Items one request may carry (batch elements and `value` list entries together). Real alerts are
 * kilobytes each, so a legitimate MAX_ALERT_BYTES body holds a few hundred; a megabyte of `[1,1,…]`
 * would otherwise become half a million error reports (hundreds of MB of response) and log lines.
 */
const MAX_ITEMS_PER_REQUEST = 1000;

/** Senders relay JSON as application/json; a missing type is tolerated (many scripts send none). */
function isJsonMediaType(contentType: string | null): boolean {
  if (contentType === null || contentType.trim() === '') return true;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || type === 'text/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

/** Checks made before reading a byte. */
export function checkRequestHead(
  method: string,
  headers: { get(name: string): string | null },
  maxBytes: number,
): HttpProblem | null {
  if (method.toUpperCase() !== 'POST')
    return {
      status: 405,
      code: 'method-not-allowed',
      message: `${method} is not supported here; POST the alert as JSON`,
    };
  const contentType = headers.get('content-type');
  if (!isJsonMediaType(contentType))
    return {
      status: 415,
      code: 'unsupported-media-type',
      message: `Content-Type "${contentType?.slice(0, 100)}" is not JSON; send application/json`,
    };
  const declared = Number(headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge(maxBytes);
  return null;
}

function tooLarge(maxBytes: number): HttpProblem {
  return {
    status: 413,
    code: 'body-too-large',
    message: `the body is larger than ${maxBytes} bytes (MAX_ALERT_BYTES); split the batch`,
  };
}

/**
 * Reads at most `maxBytes`: Content-Length can be absent (chunked) or wrong, so the bytes actually read
 * are counted too, and reading stops at the limit instead of buffering an attacker's gigabyte.
 */
export async function readBodyWithin(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<{ bytes: Buffer } | HttpProblem> {
  if (!body) return { bytes: Buffer.alloc(0) };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        return tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch {
    // The sender went away mid-body: nothing was accepted, and there is nobody left to answer.
    return { status: 400, code: 'invalid-json', message: 'the body could not be read to its end' };
  }
  return { bytes: Buffer.concat(chunks) };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseJsonBody(bytes: Buffer): { value: unknown } | HttpProblem {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { status: 400, code: 'invalid-json', message: 'the body is not valid UTF-8' };
  }
  if (text.trim() === '')
    return { status: 400, code: 'invalid-json', message: 'the body is empty; POST an alert as JSON' };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    // RangeError too: nesting deep enough to exhaust the parser's stack is not JSON we accept.
    const detail = error instanceof SyntaxError ? error.message : 'nested too deeply';
    return { status: 400, code: 'invalid-json', message: `the body is not JSON: ${detail.slice(0, 200)}` };
  }
}

/** A `value` list (MDE, Graph) holds alerts; streaming `records` hold rows of alerts: each counts. */
function itemsOf(value: unknown): number {
  if (!isRecord(value)) return 1;
  const list = field(value, 'value') ?? field(value, 'records');
  return Array.isArray(list) ? Math.max(1, list.length) : 1;
}

/** Checked on the parsed body, before any item is parsed or logged. */
export function checkItemCount(body: unknown, maxItems = MAX_ITEMS_PER_REQUEST): HttpProblem | null {
  const items = Array.isArray(body)
    ? body.reduce((sum: number, item) => sum + itemsOf(item), 0)
    : itemsOf(body);
  if (items <= maxItems) return null;
  return {
    status: 413,
    code: 'too-many-items',
    message: `the body holds ${items} items; at most ${maxItems} per request: split the batch`,
    path: '$',
  };
}

export function isHttpProblem(value: object): value is HttpProblem {
  return 'status' in value && 'code' in value;
}
