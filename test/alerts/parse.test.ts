import { ALERT_FAMILIES, parseAlertPayload } from '../../shared/alerts/parse';
import { fixture } from '../fixtures';
import { copyOf } from './helpers';

describe('detection and batches', () => {
  it('detects every family from the body alone', () => {
    const sources = [
      '01-sentinel-incident-xdr-single-host.json',
      '05-sentinel-alert-trigger-entities-array.json',
      '07-azmon-logalert-v2-fired-dimensions.json',
      '10-mde-api-alert-medium.json',
      '11-graph-alert-v2-device-evidence.json',
      '14-xdr-stream-evidence-first.json',
      '15-manual-fqdn.json',
    ].map((name) => {
      const [outcome] = parseAlertPayload(fixture(name));
      return 'alert' in outcome ? outcome.alert.source : outcome.problem.code;
    });
    expect(sources).toEqual([
      'sentinel-incident',
      'sentinel-alert',
      'azure-monitor',
      'mde-alert',
      'graph-alert',
      'xdr-stream',
      'relay-manual',
    ]);
  });

  it('detects a Graph alert by its @odata.type alone (a dotted key, not a path)', () => {
    const body = copyOf<Record<string, unknown>>('11-graph-alert-v2-device-evidence.json');
    delete body.serviceSource;
    const [outcome] = parseAlertPayload(body);
    expect('alert' in outcome && outcome.alert.source).toBe('graph-alert');
  });

  it('reports each batch item separately; a bad item sinks nothing else', () => {
    const outcomes = parseAlertPayload(fixture('17-batch-mixed-with-bad-item.json'));
    expect(outcomes.map((o) => ['alert' in o ? o.alert.source : o.problem.code, o.path])).toEqual([
      ['relay-manual', '$[0]'],
      ['unrecognized-payload', '$[1]'],
      ['graph-alert', '$[2]'],
    ]);
  });

  it('names the accepted shapes and the closest match with its missing fields', () => {
    const body = copyOf<Record<string, unknown>>('10-mde-api-alert-medium.json');
    delete body.detectionSource;
    const [outcome] = parseAlertPayload(body);
    expect('problem' in outcome && outcome.problem).toMatchObject({
      code: 'unrecognized-payload',
      path: '$',
    });
    const message = 'problem' in outcome ? outcome.problem.message : '';
    expect(message).toContain(
      'Closest: Defender for Endpoint API alert (/api/alerts), missing detectionSource.',
    );
    for (const family of ALERT_FAMILIES) expect(message).toContain(family.label);
  });

  it.each([
    ['a string', 'hello'],
    ['a number', 42],
    ['null', null],
    ['a nested array', [[{}]]],
  ])('rejects %s as unrecognized', (_label, body) => {
    const outcomes = parseAlertPayload(body);
    expect(outcomes.every((o) => 'problem' in o && o.problem.code === 'unrecognized-payload')).toBe(true);
  });

  it('rejects an empty batch', () => {
    expect(parseAlertPayload([])).toEqual([
      { path: '$', problem: { code: 'empty-batch', message: 'the batch is an empty array', path: '$' } },
    ]);
  });

  it('reports a bad element of a value list by its path', () => {
    const outcomes = parseAlertPayload({ value: [fixture('10-mde-api-alert-medium.json'), { id: 1 }] });
    expect(outcomes.map((o) => o.path)).toEqual(['$.value[0]', '$.value[1]']);
    expect('problem' in outcomes[1]).toBe(true);
  });

  it('does not resolve inherited properties such as constructor or __proto__ as fields', () => {
    const outcomes = parseAlertPayload(JSON.parse('{"__proto__": {"comment": "x", "hostname": "web1"}}'));
    expect('problem' in outcomes[0]).toBe(true);
    expect(({} as Record<string, unknown>).comment).toBeUndefined();
  });
});
