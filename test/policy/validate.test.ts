import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DURATION_PATTERN } from '../../shared/kernel/duration';
import { MDE_DEVICE_ID } from '../../shared/kernel/ids';
import { ISOLATION_TYPES, POLICY_MODES } from '../../shared/kernel/vocabulary';
import { COMMENT_PLACEHOLDERS } from '../../shared/policy/comment';
import { ALERT_CONDITION_KEYS, DEVICE_CONDITION_KEYS } from '../../shared/policy/document';
import {
  globMatchCost,
  globStates,
  MATCH_PASS_COST,
  MAX_PATTERN_COMBINATIONS,
  MAX_PATTERN_LENGTH,
  MAX_POLICY_MATCH_COST,
} from '../../shared/policy/glob';
import schema from '../../shared/policy/policy.schema.json';
import { formatProblem, validatePolicy } from '../../shared/policy/validate';
import { documentOf } from './builders';

const POLICY_DIR = join(__dirname, '../../shared/policy');

function errorsOf(document: unknown): string[] {
  const result = validatePolicy(document);
  return result.valid ? [] : result.errors.map(formatProblem);
}

const rule = { name: 'r1', action: 'isolate' };

describe('validatePolicy: one readable line per mistake, with its path', () => {
  it.each([
    [
      'unknown field, with a guess',
      { rules: [{ ...rule, severty: 'high' }] },
      "/rules/0: unknown field 'severty' (did you mean 'minSeverity'?)",
    ],
    ['unknown top-level field', { rulez: [] }, "(policy): unknown field 'rulez' (did you mean 'rules'?)"],
    [
      'unknown action',
      { rules: [rule, rule, { name: 'r3', action: 'quarantine' }] },
      '/rules/2/action: must be one of isolate, escalate, skip (got string "quarantine")',
    ],
    ['wrong type', { version: 3 }, '/version: must be a string (got number 3)'],
    [
      'wrong type in a list',
      { rules: [{ ...rule, tags: 'VIP' }] },
      '/rules/0/tags: must be a list (got string "VIP")',
    ],
    [
      'wrong integer',
      { blastRadius: { maxIsolations: 2.5 } },
      '/blastRadius/maxIsolations: must be a whole number (got number 2.5)',
    ],
    ['below minimum', { blastRadius: { windowMinutes: 0 } }, '/blastRadius/windowMinutes: must be >= 1'],
    ['missing field', { rules: [{ name: 'r1' }] }, "/rules/0: missing field 'action'"],
    ['bad mode', { mode: 'on' }, '/mode: must be one of enforce, dry-run (got string "on")'],
    [
      'bad technique id',
      { rules: [{ ...rule, mitreTechniques: ['1486'] }] },
      '/rules/0/mitreTechniques/0: "1486" does not have the expected form (like T1486, T1003.001)',
    ],
    [
      'bad pattern',
      { rules: [{ ...rule, hostnames: ['ok-*', 'dc[0-9'] }] },
      expect.stringMatching(/^\/rules\/0\/hostnames\/1: bad pattern "dc\[0-9": .*closing/),
    ],
    [
      'bad title pattern',
      { rules: [{ ...rule, title: '*{ransom*' }] },
      expect.stringMatching(/^\/rules\/0\/title: bad pattern/),
    ],
    [
      'negated pattern',
      { protections: [{ name: 'p', tags: ['!VIP'] }] },
      expect.stringMatching(/^\/protections\/0\/tags\/0: bad pattern "!VIP": negation/),
    ],
    [
      'a 32-hex device id (MDE machine ids are 40 hex)',
      { protections: [{ name: 'p', deviceIds: ['ab'.repeat(16)] }] },
      expect.stringMatching(/^\/protections\/0\/deviceIds\/0: /),
    ],
    [
      'protection naming nothing',
      { protections: [{ name: 'p' }] },
      '/protections/0: names no device: give at least one of deviceIds, tags, deviceGroups, hostnames',
    ],
    [
      'bad protection action',
      { protections: [{ name: 'p', tags: ['x'], action: 'isolate' }] },
      '/protections/0/action: must be one of escalate, selective (got string "isolate")',
    ],
    [
      'duplicate names',
      { protections: [{ name: 'dc', tags: ['x'] }], rules: [{ ...rule, name: 'DC' }] },
      "/rules/0/name: 'DC' is already used by /protections/0",
    ],
    [
      'reserved name',
      { rules: [{ ...rule, name: 'default' }] },
      "/rules/0/name: 'default' is reserved for built-in decisions",
    ],
    [
      'isolation type without isolate',
      { rules: [{ name: 'r', action: 'skip', isolationType: 'Full' }] },
      '/rules/0/isolationType: only applies to action isolate',
    ],
    [
      'time box without isolate',
      { rules: [{ name: 'r', action: 'escalate', isolateFor: '8h' }] },
      '/rules/0/isolateFor: only applies to action isolate',
    ],
    [
      'time box not in minutes, hours or days',
      { rules: [{ ...rule, isolateFor: '8 hours' }] },
      expect.stringMatching(/^\/rules\/0\/isolateFor: /),
    ],
    [
      'onTimeout without isolate',
      { rules: [{ name: 'r', action: 'escalate', onTimeout: 'retry-when-seen' }] },
      '/rules/0/onTimeout: only applies to action isolate',
    ],
    [
      'unknown placeholder',
      { comment: { template: 'by {rule} for {alrtId}' } },
      expect.stringMatching(/^\/comment\/template: unknown placeholder \{alrtId\}/),
    ],
    [
      'comment longer than MDE takes',
      { comment: { maxLength: 5000 } },
      '/comment/maxLength: must be <= 1000',
    ],
    [
      'unreachable rule',
      { rules: [{ name: 'all', action: 'escalate' }, rule] },
      "/rules/1: is never reached: /rules/0 ('all') has no conditions and matches every alert",
    ],
    ['firing false', { rules: [{ ...rule, firing: false }] }, '/rules/0/firing: must be true'],
    [
      'approval without isolate',
      { rules: [{ name: 'r', action: 'escalate', approval: { expiresAfter: '30m', onExpiry: 'drop' } }] },
      '/rules/0/approval: only applies to action isolate',
    ],
    [
      'approval waiting past a week',
      { rules: [{ ...rule, approval: { expiresAfter: '8d', onExpiry: 'drop' } }] },
      '/rules/0/approval/expiresAfter: is longer than 7d: an approval waits at most a week',
    ],
    [
      'approval with an unknown expiry',
      { rules: [{ ...rule, approval: { expiresAfter: '30m', onExpiry: 'wait' } }] },
      expect.stringMatching(/^\/rules\/0\/approval\/onExpiry: must be one of/),
    ],
    [
      'three approvers',
      {
        protections: [
          { name: 'p', tags: ['x'], approval: { expiresAfter: '1h', onExpiry: 'drop', approvers: 3 } },
        ],
      },
      expect.stringMatching(/^\/protections\/0\/approval\/approvers: must be one of/),
    ],
  ])('%s', (_name, overrides, expected) => {
    expect(errorsOf({ ...documentOf(), ...overrides })).toContainEqual(expected);
  });

  it('reports every problem at once', () => {
    const errors = errorsOf({
      version: '',
      mode: 'enforce',
      rules: [{ name: 'a', action: 'nuke', tags: ['['] }],
      extra: 1,
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        '/version: must not be empty',
        expect.stringMatching(/^\/rules\/0\/action: must be one of/),
        expect.stringMatching(/^\/rules\/0\/tags\/0: bad pattern/),
        "(policy): unknown field 'extra'",
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  it('rejects a document that is not an object', () => {
    expect(errorsOf([])).toEqual(['(policy): must be an object (got an array)']);
  });

  it.each(['default-policy.json', ...readdirSync(join(POLICY_DIR, 'examples')).map((f) => `examples/${f}`)])(
    '%s is valid',
    (file) => {
      expect(errorsOf(JSON.parse(readFileSync(join(POLICY_DIR, file), 'utf8')))).toEqual([]);
    },
  );

  it('the schema and the engine know the same rule conditions and placeholders', () => {
    const ruleFields = Object.keys(schema.definitions.rule.properties).sort();
    expect(ruleFields).toEqual(
      [
        'name',
        'description',
        'action',
        'isolationType',
        'isolateFor',
        'onLift',
        'onTimeout',
        'approval',
        ...ALERT_CONDITION_KEYS,
        ...DEVICE_CONDITION_KEYS,
      ].sort(),
    );
    for (const placeholder of COMMENT_PLACEHOLDERS)
      expect(schema.properties.comment.properties.template.description).toContain(`{${placeholder}}`);
  });

  it("the shipped schema's device id pattern and vocabulary are the code's own", () => {
    // Editors read the file; the validator takes the pattern from the kernel, so the two must agree.
    expect(schema.definitions.deviceIdList.items.pattern).toBe(MDE_DEVICE_ID.source);
    expect(schema.properties.mode.enum).toEqual([...POLICY_MODES]);
    expect(schema.definitions.rule.properties.isolationType.enum).toEqual([...ISOLATION_TYPES]);
    expect(schema.definitions.rule.properties.isolateFor.pattern).toBe(DURATION_PATTERN.source);
  });

  it('every object in the schema refuses unknown fields', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (typeof node !== 'object' || node === null) return;
      if (Array.isArray(node)) {
        node.forEach((item, i) => {
          walk(item, `${path}/${i}`);
        });
        return;
      }
      const record = node as Record<string, unknown>;
      if ((record.type === 'object' || record.properties) && record.additionalProperties !== false)
        open.push(path || '/');
      for (const [key, value] of Object.entries(record)) walk(value, `${path}/${key}`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  it.each([
    [
      'blastRadius',
      { blastRadius: { maxIsolation: 5 } },
      "/blastRadius: unknown field 'maxIsolation' (did you mean 'maxIsolations'?)",
    ],
    ['comment', { comment: { template: '{rule}', max: 100 } }, "/comment: unknown field 'max'"],
    [
      'protection',
      { protections: [{ name: 'p', tags: ['x'], hostname: ['dc*'] }] },
      "/protections/0: unknown field 'hostname' (did you mean 'hostnames'?)",
    ],
  ])('refuses an unknown field in %s', (_where, overrides, expected) => {
    expect(errorsOf({ ...documentOf(), ...overrides })).toContainEqual(expected);
  });

  it('refuses a __proto__ key instead of letting it through unseen', () => {
    const document = JSON.parse('{"version":"v","mode":"enforce","rules":[],"__proto__":{"mode":"x"}}');
    expect(errorsOf(document)).toEqual(["(policy): unknown field '__proto__'"]);
  });

  it('takes no value in place of another type (no coercion)', () => {
    expect(errorsOf({ ...documentOf(), blastRadius: { maxIsolations: '10' } })).toEqual([
      '/blastRadius/maxIsolations: must be a whole number (got string "10")',
    ]);
    expect(errorsOf({ ...documentOf(), rules: [{ ...rule, firing: 'true' }] })).toEqual([
      '/rules/0/firing: must be true',
    ]);
  });
});

describe('validatePolicy bounds the matching work of its patterns', () => {
  const titled = (titles: string[]) => ({
    ...documentOf(),
    rules: titles.map((title, i) => ({ name: `title-${i}`, title, action: 'escalate' })),
  });

  it('refuses the policy that stalled a 1,000-alert body: 20 rules with 512-character title globs', () => {
    const errors = errorsOf(titled(Array(20).fill('*a'.repeat(256))));
    expect(errors).toEqual(
      Array.from(
        { length: 20 },
        (_, i) =>
          `/rules/${i}/title: bad pattern "${'*a'.repeat(20)}…": is longer than ${MAX_PATTERN_LENGTH} characters (a bound on the work of matching it; real patterns are far shorter)`,
      ),
    );
  });

  it(`refuses a pattern with more than ${MAX_PATTERN_COMBINATIONS} combinations of alternatives, naming where it is`, () => {
    const many = '{a,b}'.repeat(6);
    expect(errorsOf({ ...documentOf(), protections: [{ name: 'p', hostnames: ['ok-*', many] }] })).toEqual([
      `/protections/0/hostnames/1: bad pattern "${many}": has more than ${MAX_PATTERN_COMBINATIONS} combinations of {…} alternatives (each adds its own matching states): list fewer, or use a [set]`,
    ]);
    expect(errorsOf(titled(['{a,b}'.repeat(5)]))).toEqual([]);
  });

  it('refuses patterns past the policy-wide total once, at the title that crosses it, with the total', () => {
    const pattern = (i: number) => `*${String(i).padStart(MAX_PATTERN_LENGTH - 2, 'x')}*`;
    expect(globStates(pattern(0))).toBe(MAX_PATTERN_LENGTH - 1);
    const cost = globMatchCost([pattern(0)]);
    expect(cost).toBe(MATCH_PASS_COST + 4);
    const fit = Math.floor(MAX_POLICY_MATCH_COST / cost);
    expect(errorsOf(titled(Array.from({ length: fit }, (_, i) => pattern(i))))).toEqual([]);
    expect(errorsOf(titled(Array.from({ length: fit + 3 }, (_, i) => pattern(i))))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^/rules/${fit}/title: with these patterns matching the policy's patterns costs ${(fit + 1) * cost} words per value character, more than ${MAX_POLICY_MATCH_COST} \\(`,
        ),
      ),
    ]);
  });

  it('counts a pass for each title, however few its states (1,024 rules titled *a were admitted)', () => {
    // Each title is one matcher. 32 rules of 32 tiny combinations each were 1,024 matchers (24 s for
    // 1,000 hostile titles); their combinations now share a matcher per title.
    const cost = globMatchCost(['*a']);
    expect(cost).toBe(MATCH_PASS_COST + 1);
    const fit = Math.floor(MAX_POLICY_MATCH_COST / cost);
    expect(errorsOf(titled(Array(fit).fill('*a')))).toEqual([]);
    expect(errorsOf(titled(Array(1024).fill('*a')))).toEqual([
      expect.stringMatching(
        new RegExp(`^/rules/${fit}/title: with these patterns .* costs ${(fit + 1) * cost} words`),
      ),
    ]);
    const combinations = `*{${'abcdefghijklmnopqrstuvwxyz012345'.split('').join(',')}}`;
    expect(globMatchCost([combinations])).toBe(MATCH_PASS_COST + 2);
  });

  it('takes a list for one matcher: 300 host names cost their states, not a matcher each', () => {
    const hostnames = Array.from({ length: 300 }, (_, i) => `srv-${String(i).padStart(4, '0')}`);
    expect(globMatchCost(hostnames)).toBe(MATCH_PASS_COST + Math.ceil((300 * 9) / 32));
    expect(errorsOf({ ...documentOf(), protections: [{ name: 'servers', hostnames }] })).toEqual([]);
  });

  it('counts each combination of alternatives on its own', () => {
    expect(globStates('web{1,2}*')).toBe(2 * 5);
    expect(globStates('*')).toBe(1);
  });
});
