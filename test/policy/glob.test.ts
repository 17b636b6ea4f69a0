/** Policy globs match names, tags and titles, not file paths: no path or regex semantics may leak in. */
import fc from 'fast-check';
import picomatch from 'picomatch';
import {
  compileGlobs,
  globProblem,
  globStates,
  MATCHED_PREFIX_LENGTH,
  MAX_PATTERN_COMBINATIONS,
  MAX_PATTERN_LENGTH,
} from '../../shared/policy/glob';
import { alertOf } from '../support/alerts';
import { growthRatio, LINEAR_GROWTH_LIMIT } from '../support/scaling';
import { decideOn, machineOf, policyOf } from './builders';

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

  it.each([
    ['*-*-*-*!', '-'],
    ['*:*:*:*x', ':'],
    ['*a*a*a*a*a*a*b', 'a'],
    ['{*a,*a*}{*a,*a*}{*a,*a*}b', 'a'],
  ])(
    '%j on a title of %j repeated costs linear work, not backtracking (once 24 s a match)',
    (pattern, unit) => {
      expect(globProblem(pattern)).toBeNull();
      const match = compileGlobs([pattern]);
      const ratio = growthRatio(
        64,
        (size) => unit.repeat(size),
        (title) => expect(match(title)).toBe(false),
      );
      expect(ratio).toBeLessThan(LINEAR_GROWTH_LIMIT);
    },
  );

  it('a pattern as long as allowed costs a title about what a two-character one does (live-state lists: dozens of times more)', () => {
    // Every position of `*aaa…b` stays live on a title of `a`s: a list of live states did 127 steps
    // per title character where `*b` did 2; bit-parallel matching does a word per 32 positions.
    const title = 'a'.repeat(MATCHED_PREFIX_LENGTH);
    const longest = `*${'a'.repeat(MAX_PATTERN_LENGTH - 2)}b`;
    expect(globProblem(longest)).toBeNull();
    const ratio = growthRatio(
      2,
      (size) => compileGlobs([size === 2 ? '*b' : longest]),
      (match) => expect(match(title)).toBe(false),
    );
    expect(ratio).toBeLessThan(LINEAR_GROWTH_LIMIT);
  });

  it('matches a list of tiny patterns as one: 64 of `*b` cost a title what one pattern of their states does', () => {
    // One matcher per pattern (or per {…} combination) was a word per title character each, however
    // few its states: a thousand tiny ones held a 1,000-alert body for tens of seconds.
    const title = 'a'.repeat(MATCHED_PREFIX_LENGTH);
    const tiny = Array.from({ length: 64 }, () => '*b');
    const long = `*${'a'.repeat(MAX_PATTERN_LENGTH - 2)}b`;
    expect(globStates(long)).toBe(tiny.length * globStates('*b'));
    const ratio = growthRatio(
      1,
      (size) => compileGlobs(size === 1 ? [long] : tiny),
      (match) => expect(match(title)).toBe(false),
    );
    expect(ratio).toBeLessThan(LINEAR_GROWTH_LIMIT);
  });

  it.each([
    ['web{1,2}', ['web1', 'WEB2'], ['web3', 'web12']],
    ['{dc,ad}[0-9]*', ['dc01', 'AD9.corp'], ['dcx1', 'mydc01']],
    ['{a,{b,c}}x', ['ax', 'bx', 'cx'], ['dx', 'x']],
    ['{abc}', ['{abc}'], ['abc']],
    ['{a,{b}}', ['a', '{b}'], ['b']],
    ['x[!0-9]y', ['xay', 'X-Y'], ['x1y', 'x/y']],
    ['x[^a]y', ['xby'], ['xay', 'xAy']],
    ['[[:digit:]]x', ['1x'], ['ax']],
    ['[A-C]*', ['bob'], ['dan']],
    ['[]a]', [']', 'a'], ['b']],
    ['a?c', ['abc', 'a c'], ['a/c', 'ac']],
    ['a\\*c', ['a*c'], ['abc']],
    ['*\\\\', ['x\\'], ['x']],
  ])('%j matches %j and not %j', (pattern, yes, no) => {
    expect(globProblem(pattern)).toBeNull();
    for (const value of yes) expect([value, matches(pattern, value)]).toEqual([value, true]);
    for (const value of no) expect([value, matches(pattern, value)]).toEqual([value, false]);
  });

  it.each([
    ['dc[0-9', "'[' has no closing ']'"],
    ['web{1,2', "'{' has no closing '}'"],
    ['x\\', 'lone backslash'],
    ['[z-a]', 'range z-a is reversed'],
    ['web{1..3}', 'brace ranges such as {1..3} are not supported'],
    ['[[:foo:]]', 'unknown character class [:foo:]'],
    ['x'.repeat(MAX_PATTERN_LENGTH + 1), `longer than ${MAX_PATTERN_LENGTH} characters`],
  ])('refuses %j, saying why', (pattern, why) => {
    expect(globProblem(pattern)).toContain(why);
  });

  /** The picomatch reading these globs had before the linear matcher (kept here as the reference). */
  const picomatchReference = (pattern: string) => {
    const escaped = pattern.replace(/\\.|[()|".]/gs, (token) => (token.length === 2 ? token : `\\${token}`));
    const re = picomatch.makeRe(escaped, {
      dot: true,
      bash: true,
      strictBrackets: true,
      fastpaths: false,
      noglobstar: true,
      noextglob: true,
      flags: 'is',
    });
    return (value: string) => re.test(value.trim());
  };

  it('agrees with the picomatch reading it replaced, on patterns of the documented syntax', () => {
    const piece = fc.oneof(
      fc.constantFrom(...'abAB0-. _()|"'),
      fc.constantFrom(
        '*',
        '?',
        '[a-b]',
        '[0-9]',
        '[^a]',
        '[ab-]',
        '{a,b}',
        '{ab,b*}',
        '{,a}',
        '\\*',
        '\\?',
        '\\[',
      ),
    );
    // Every alternative here has two choices: at most log2(MAX_PATTERN_COMBINATIONS) of them in one pattern,
    // as the validator allows (more is refused, tested in validate.test.ts).
    const pattern = fc
      .array(piece, { minLength: 1, maxLength: 8 })
      .filter((pieces) => 2 ** pieces.filter((p) => p.startsWith('{')).length <= MAX_PATTERN_COMBINATIONS)
      .map((pieces) => pieces.join(''))
      .filter((p) => p.trim() === p);
    // No `/` in values: picomatch lets a set end in an optional `/` (`[0-9]` matches `1/`), a path rule.
    const value = fc.string({ maxLength: 10, unit: fc.constantFrom(...'abAB0-. _()|"*?[') });
    fc.assert(
      fc.property(pattern, value, (p, v) => {
        expect(globProblem(p)).toBeNull();
        expect(matches(p, v)).toBe(picomatchReference(p)(v));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches a list as any of its patterns would, across word boundaries (states 32, 33, 64, 65, …)', () => {
    const piece = fc.constantFrom('a', 'b', 'a', 'b', '*', '?', '[ab]', '{a,bb}', 'aaaa', 'abab');
    const pattern = fc.array(piece, { minLength: 1, maxLength: 30 }).map((pieces) => pieces.join(''));
    const value = fc.string({ maxLength: 90, unit: fc.constantFrom('a', 'a', 'a', 'b', 'c') });
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 4 }), value, (patterns, v) => {
        const valid = patterns.filter((p) => globProblem(p) === null);
        const expected = valid.some((p) => picomatchReference(p)(v));
        expect(compileGlobs(valid)(v)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
