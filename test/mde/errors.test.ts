import fc from 'fast-check';
import { errorFromNetwork, errorFromResponse } from '../../shared/mde/error-mapping';
import { isRetryable, RateLimitedError } from '../../shared/mde/errors';
import { odataString } from '../../shared/mde/odata';
import { matches, parseFilter } from '../../simulator/odata';

const call = { operation: 'isolate', api: 'isolate' as const, method: 'POST' as const };

describe('Retry-After', () => {
  it('carries the wait of a 429 into RateLimitedError', () => {
    const error = errorFromResponse(
      call,
      429,
      { error: { code: 'TooManyRequests', message: 'slow down', target: 't-1' } },
      { 'retry-after': '7' },
    );
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      retryAfterMs: 7_000,
      code: 'TooManyRequests',
      target: 't-1',
      api: 'isolate',
    });
    expect(isRetryable(error)).toBe(true);
  });
});

describe('status mapping', () => {
  it.each([
    [400, 'InvalidRequestBody', 'bad-request', false],
    [400, 'ActiveRequestAlreadyExists', 'action-already-in-progress', false],
    [400, 'OsPlatformNotSupported', 'unsupported', false],
    [401, 'Unauthorized', 'unauthorized', false],
    [403, 'Forbidden', 'forbidden', false],
    [404, 'ResourceNotFound', 'not-found', false],
    [500, 'InternalServerError', 'transient', true],
    [502, undefined, 'transient', true],
  ])('%i %s → %s', (status, code, kind, retryable) => {
    const error = errorFromResponse(
      call,
      status,
      code ? { error: { code, message: 'the MDE text', target: '|t-9.' } } : '<html>bad gateway</html>',
      {},
    );
    expect(error.kind).toBe(kind);
    expect(isRetryable(error)).toBe(retryable);
    expect(error).toMatchObject({ status, code, target: code ? '|t-9.' : undefined, api: 'isolate' });
    expect(error.message).toContain(code ? 'the MDE text' : String(status));
  });

  it.each([
    [
      403,
      'DisallowedOperation',
      'Isolate is not allowed on machine m: the device was onboarded with restricted response actions',
    ],
    [400, 'BadRequest', 'Response actions are restricted on this device'],
    [400, 'BadRequest', 'The device is excluded from response actions'],
  ])(
    '%i %s naming the device on an action POST → restricted-device, never retried',
    (status, code, message) => {
      const error = errorFromResponse(call, status, { error: { code, message, target: 't' } }, {});
      expect(error.kind).toBe('restricted-device');
      expect(isRetryable(error)).toBe(false);
      expect(error.message).toContain(message);
    },
  );

  it('keeps a missing permission and a lookup refusal apart from a restricted device', () => {
    const roles = errorFromResponse(
      call,
      403,
      {
        error: {
          code: 'Forbidden',
          message: 'Missing application roles. API required roles: Machine.Isolate, application roles: .',
        },
      },
      {},
    );
    expect(roles.kind).toBe('forbidden');
    const lookup = errorFromResponse(
      { operation: 'getMachine', api: 'machines', method: 'GET' },
      403,
      { error: { code: 'DisallowedOperation', message: 'restricted' } },
      {},
    );
    expect(lookup.kind).toBe('forbidden');
  });

  it('never treats a non-MDE error as retryable', () => {
    expect(isRetryable(new Error('boom'))).toBe(false);
    expect(errorFromNetwork(call, new Error('weird')).transientCause).toBe('network');
  });
});

describe('OData literals', () => {
  it('round-trip any string through the simulator parser as one literal', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const filter = parseFilter(
          `computerDnsName eq ${odataString(value)}`,
          { computerDnsName: 'string' },
          'Machine',
        );
        expect(filter).toMatchObject({ op: 'compare', right: { kind: 'literal', value } });
        expect(matches(filter, { computerDnsName: value }, { computerDnsName: 'string' })).toBe(true);
      }),
    );
  });
});
