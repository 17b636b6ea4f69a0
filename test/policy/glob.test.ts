/** Policy globs match names, tags and titles, not file paths: no path or regex semantics may leak in. */
import fc from 'fast-check';
import { compileGlobs, globProblem, MATCHED_PREFIX_LENGTH } from '../../shared/policy/glob';
import { alertOf, decideOn, machineOf, policyOf } from './builders';

const matches = (pattern: string, value: string) => compileGlobs([pattern])(value);

describe('policy globs', () => {
  it.each([
    ['Servers (Production)', 'servers (production)'],
    ['Tier 0 (DC)*', 'TIER 0 (DC) West'],
    ['Prod (EU)*', 'Prod (EU) Frankfurt'],
    ['Group|Other', 'group|other'],
    ['A|B|', 'a|b|'],
    ['x !(y)', 'X !(Y)'],
    ['Servers (Prod', 'servers (prod'],
    ['Prod)', 'prod)'],
  ])('takes parentheses and | in %j literally, in any case', (pattern, value) => {
    expect(globProblem(pattern)).toBeNull();
    expect(matches(pattern, value)).toBe(true);
    expect(matches(pattern, value.replace(/[()|]/g, ''))).toBe(false);
  });

  it('does not let a parenthesis act as a regex group with a quantifier', () => {
    expect(matches('Prod (EU)*', 'Prod EUEUEU')).toBe(false);
  });

  it.each([
    ['*ransom*', 'Ransomware dropped\nin C:/Users/../Public'],
    ['*ransom*', 'payload at ./x/../ransom.exe'],
    ['dc*', 'dc01/../x'],
    ['*', '..'],
    ['a**b', 'a/./b'],
  ])('%j matches %j: * crosses line breaks and path-like segments', (pattern, value) => {
    expect(matches(pattern, value)).toBe(true);
  });

  it('ignores spaces around a value (a tag typed with a trailing space is still that tag)', () => {
    expect(matches('DoNotIsolate', ' DoNotIsolate ')).toBe(true);
  });

  it('matches a hostile, overlong value on its first characters only', () => {
    const long = `${'ransom'.repeat(20_000)}ware`;
    expect(matches('ransom*', long)).toBe(true);
    expect(matches('*ware', long)).toBe(false);
    expect(matches('*ware', `${'x'.repeat(MATCHED_PREFIX_LENGTH - 4)}ware`)).toBe(true);
  });

  it('any plain text matches itself in any case, and only itself', () => {
    const plain = fc
      .string({ minLength: 1, maxLength: 40, unit: fc.constantFrom(...'aZ09 .-_()|+@!$^&#%,:;=~/<>\'"`') })
      .filter((s) => s.trim() === s && !s.startsWith('!'));
    fc.assert(
      fc.property(plain, (text) => {
        expect(globProblem(text)).toBeNull();
        expect(matches(text, text.toUpperCase())).toBe(true);
        expect(matches(text, text.toLowerCase())).toBe(true);
        expect(matches(text, `${text}z`)).toBe(false);
        expect(matches(text, `z${text}`)).toBe(false);
      }),
    );
  });

  it('a protection by device group with parentheses holds whatever the case MDE reports', () => {
    const policy = policyOf({
      protections: [{ name: 'tier0', deviceGroups: ['Tier 0 (Domain Controllers)*'] }],
      rules: [{ name: 'all', action: 'isolate' }],
    });
    const decision = decideOn(
      policy,
      alertOf(),
      machineOf({ rbacGroupName: 'TIER 0 (domain controllers) EU' }),
    );
    expect(decision).toMatchObject({ action: 'escalate', rule: 'tier0' });
  });
});
