import { parseAlertPayload } from '../../shared/alerts/parse';
import { fixtureAlert, onlyAlertOf } from './helpers';

const problemOf = (body: unknown) => {
  const [outcome] = parseAlertPayload(body);
  if (!('problem' in outcome)) throw new Error('expected a problem');
  return outcome.problem;
};

describe('manual request', () => {
  it('fills NormalizedAlert.manual with what was asked for, the requester as the relay claims it', () => {
    const alert = fixtureAlert('15-manual-fqdn.json');
    expect(alert).toMatchObject({
      source: 'relay-manual',
      severity: 'medium',
      firing: true,
      devices: [{ fqdn: 'kiosk-lobby-07.ad.northwind.example' }],
      manual: {
        comment: 'Tier 2 (INC-4840): kiosk opened RDP to the internet; contain while we image it.',
        isolationType: 'Selective',
        requestedBy: '(claimed by the relay) l.brandt@northwind.example',
      },
    });
    expect(alert.alertId).toMatch(/^manual-[0-9a-f]{16}$/);
  });

  it('defaults to high severity and gives a retried request the same id', () => {
    const body = { machineId: '716240A6127A2375AC877A23ED488EC786B9E4A4', comment: 'C2 beacon' };
    const alert = onlyAlertOf(body);
    expect(alert.severity).toBe('high');
    expect(alert.devices).toEqual([{ mdeDeviceId: '716240a6127a2375ac877a23ed488ec786b9e4a4' }]);
    expect(onlyAlertOf({ ...body }).alertId).toBe(alert.alertId);
    expect(onlyAlertOf({ ...body, comment: 'other reason' }).alertId).not.toBe(alert.alertId);
  });

  it('records a relayed order naming nobody as the relay naming nobody', () => {
    const alert = onlyAlertOf({ hostname: 'web1', comment: 'contain' });
    expect(alert.manual?.requestedBy).toBe('(claimed by the relay) nobody named');
  });

  it("records a relay's claim on one line: control characters cannot hide its mark", () => {
    // On an operator's terminal, ESC [2K CR would erase the mark and print the name as a verified one.
    const forged = 'x\u001b[2K\rceo@contoso.com (Easy Auth)\n\u202everified';
    const alert = onlyAlertOf({ hostname: 'web1', comment: 'contain', requestedBy: forged });
    expect(alert.manual?.requestedBy).toBe(
      '(claimed by the relay) x [2K ceo@contoso.com (Easy Auth) verified',
    );
  });

  it.each([
    [{ machineId: 'not-an-id', comment: 'x' }, '$.machineId', /40-hex/],
    [{ hostname: 'web1.corp.example', comment: 'x' }, '$.hostname', /not a host name/],
    [{ aadDeviceId: 'nope', comment: 'x' }, '$.aadDeviceId', /GUID/],
    [{ fqdn: '10.0.0.1', comment: 'x' }, '$.fqdn', /not a DNS name/],
    [{ hostname: 'web1', fqdn: 'web1.corp.example', comment: 'x' }, '$.fqdn', /exactly one/],
    [{ hostname: 'web1', comment: 'x', severity: 'urgent' }, '$.severity', /one of/],
    [
      { hostname: 'web1', comment: 'x', isolationType: 'UnManagedDevice' },
      '$.isolationType',
      /Full, Selective/,
    ],
    [{ hostname: 'web1', comment: 'x'.repeat(1001) }, '$.comment', /longer than/],
    [{ hostname: 'web1', comment: 'x', requestedBy: 'u'.repeat(201) }, '$.requestedBy', /longer than 200/],
    [{ hostname: 'web1', comment: 'x', alertId: 'a'.repeat(201) }, '$.alertId', /longer than 200/],
    [{ hostname: 'web1', comment: 'x', incidentId: 'i'.repeat(201) }, '$.incidentId', /longer than 200/],
  ])('rejects %j naming %s', (body, path, message) => {
    const problem = problemOf(body);
    expect(problem).toMatchObject({ code: 'invalid-field', path });
    expect(problem.message).toMatch(message);
  });

  it('rejects a request without a comment, naming the missing field', () => {
    const problem = problemOf({ hostname: 'web1' });
    expect(problem.code).toBe('unrecognized-payload');
    expect(problem.message).toMatch(/Closest: manual request .*missing comment/);
  });
});
