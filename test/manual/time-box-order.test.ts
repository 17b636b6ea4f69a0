/** The time box as a person gives it: `isolateFor` on an isolation, `for` on an extension, nothing else. */
import { parseExtendBody, parseMdeOrder, parseOrder } from '../../shared/manual/order';

const machineId = '716240a6127a2375ac877a23ed488ec786b9e4a4';

describe('isolateFor on the manual API', () => {
  it('takes minutes, hours or days on an isolation, in both shapes', () => {
    expect(parseOrder('isolate', { machineId, comment: 'IR-7', isolateFor: '8h' })).toMatchObject({
      isolateForMs: 8 * 3_600_000,
    });
    expect(parseMdeOrder('isolate', machineId, { Comment: 'IR-7', isolateFor: '2d' })).toMatchObject({
      isolateForMs: 2 * 86_400_000,
    });
    expect(parseOrder('isolate', { machineId, comment: 'IR-7' })).toMatchObject({ isolateForMs: null });
  });

  it('refuses anything else with the field named, and a time box on a release', () => {
    for (const isolateFor of ['8', '8 hours', '0h', '1.5h', 8, '99999h'])
      expect(parseOrder('isolate', { machineId, comment: 'IR-7', isolateFor })).toMatchObject({
        status: 400,
        path: '$.isolateFor',
        message: expect.stringContaining('30m, 8h, 2d'),
      });
    expect(parseOrder('release', { machineId, comment: 'done', isolateFor: '8h' })).toMatchObject({
      status: 400,
      path: '$.isolateFor',
    });
  });
});

describe('the body of an extension', () => {
  it('needs how much later and why', () => {
    expect(parseExtendBody({ for: '4h', reason: 'forensics' })).toEqual({
      byMs: 4 * 3_600_000,
      reason: 'forensics',
    });
    expect(parseExtendBody({ reason: 'forensics' })).toMatchObject({ status: 400, path: '$.for' });
    expect(parseExtendBody({ for: '4h' })).toMatchObject({ status: 400, path: '$.reason' });
    expect(parseExtendBody({ for: '4h', reason: 'x', until: 'never' })).toMatchObject({
      status: 400,
      path: '$.until',
    });
  });
});
