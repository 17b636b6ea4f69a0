import { ReadableStream } from 'node:stream/web';
import {
  checkItemCount,
  checkRequestHead,
  parseJsonBody,
  readBodyWithin,
} from '../../shared/intake/http-body';

const headers = (values: Record<string, string>) => new Headers(values);

function streamOf(chunks: Uint8Array[], failAfter = Number.POSITIVE_INFINITY): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index >= failAfter) controller.error(new Error('connection reset'));
      else if (index < chunks.length) controller.enqueue(chunks[index++]);
      else controller.close();
    },
  });
}

describe('request checks', () => {
  it.each([
    ['application/json', null],
    ['application/json; charset=utf-8', null],
    ['text/json', null],
    ['application/vnd.azure.alert+json', null],
    ['text/plain', 415],
  ])('Content-Type %s → %s', (type, status) => {
    expect(checkRequestHead('POST', headers({ 'content-type': type }), 100)?.status ?? null).toBe(status);
  });

  it('tolerates a missing Content-Type, as many scripts send none', () => {
    expect(checkRequestHead('POST', headers({}), 100)).toBeNull();
  });

  it('stops reading at the limit when the stream is longer than declared', async () => {
    const chunk = new Uint8Array(64);
    const read = await readBodyWithin(streamOf([chunk, chunk, chunk]), 100);
    expect(read).toMatchObject({ status: 413, code: 'body-too-large' });
  });

  it('answers 400 when the sender goes away mid-body', async () => {
    const read = await readBodyWithin(streamOf([new Uint8Array(8)], 1), 100);
    expect(read).toMatchObject({ status: 400 });
  });

  it('accepts a UTF-8 byte order mark before the JSON', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect(parseJsonBody(bytes)).toEqual({ value: { a: 1 } });
  });
});

describe('item count', () => {
  it.each([
    ['one alert', { id: 'a' }, null],
    ['a batch at the limit', Array(3).fill({}), null],
    ['a batch over the limit', Array(4).fill(1), 413],
    ['a value list over the limit', { value: Array(4).fill({}) }, 413],
    ['value lists in a batch, counted together', [{ value: [1, 2] }, { value: [3, 4] }], 413],
    ['streaming records at the limit', { records: Array(3).fill({}) }, null],
    ['streaming records over the limit, each row counted', { records: Array(4).fill({}) }, 413],
    ['an empty records list, one item', { records: [] }, null],
  ])('%s', (_label, body, status) => {
    expect(checkItemCount(body, 3)?.status ?? null).toBe(status);
  });
});
