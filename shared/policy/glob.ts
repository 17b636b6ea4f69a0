/**
 * Policy patterns: anchored, case-insensitive globs over a whole value (a host name, a tag, a device
 * group, an alert title). These values are not file paths: `*` is any run of characters (`/`, `.` and
 * line breaks included), `?` one character other than `/`, `[a-z]` / `[!a-z]` one character of (not
 * of) a set, `{a,b}` either alternative, `\` escapes the next character, and everything else is
 * literal, parentheses, `|` and `"` included (MDE device groups such as `Servers (Production)`).
 *
 * A pattern list (a rule's title, a protection's hostnames, …) compiles to one bit-parallel matcher
 * holding every combination of the `{…}` alternatives of every pattern side by side, run over the value
 * with every position at once, never by backtracking: each character of the value costs one pass over
 * a word per 32 matching states of the whole list, so no pattern, however many `*` it has, can stall
 * the app on a hostile title (`*-*-*-*!` once took 24 s per match as a backtracking regex; a
 * 512-character `*aaa…b` took 30 ms per title as a list of live automaton states, and twenty of them
 * minutes for a 1,000-alert body; a thousand tiny lists or combinations, one matcher each, cost a
 * word each). The bounds below keep the work of one decision small whatever the policy says.
 */

export type Matcher = (value: string) => boolean;

/**
 * Only this much of a value is matched: real names and titles are far shorter, and it bounds the
 * work of a match together with MAX_PATTERN_LENGTH.
 */
export const MATCHED_PREFIX_LENGTH = 1024;
/** Characters of one pattern: longer than any name or title pattern a person writes (5 to 50). */
export const MAX_PATTERN_LENGTH = 128;
/** Combinations of `{…}` alternatives in one pattern: each adds its own matching states. */
export const MAX_PATTERN_COMBINATIONS = 32;
/**
 * The matching cost (globMatchCost) of all the pattern lists of one policy, every rule and protection
 * together: any of them may be matched on every alert, so their total bounds the work of a decision.
 * The shipped default policy costs 67.
 */
export const MAX_POLICY_MATCH_COST = 192;

/**
 * What a matcher's pass costs per value character besides its words (reading the character and its
 * mask), in words: measured at about three, so a thousand one-word matchers are no cheaper than a
 * thousand four-word ones.
 */
export const MATCH_PASS_COST = 3;

/** Matching states one word of a matcher holds. */
const WORD_STATES = 32;

/** One character test, on a value already lower-cased. */
type CharTest = (char: string) => boolean;

type Item = { kind: 'char'; test: CharTest } | { kind: 'star' } | { kind: 'alternatives'; of: Item[][] };

class GlobSyntaxError extends Error {}

const POSIX_CLASSES: ReadonlyMap<string, RegExp> = new Map([
  ['alnum', /[a-z0-9]/i],
  ['alpha', /[a-z]/i],
  ['digit', /[0-9]/],
  ['lower', /[a-z]/i],
  ['upper', /[a-z]/i],
  ['space', /\s/],
  ['xdigit', /[0-9a-f]/i],
  ['word', /\w/],
]);

/** Recursive-descent reader of one pattern; throws GlobSyntaxError saying what is wrong and where. */
class Parser {
  private at = 0;
  private readonly chars: string[];

  constructor(pattern: string) {
    this.chars = [...pattern];
  }

  parse(): Item[] {
    return this.sequence(false);
  }

  /** Items up to the end, or inside braces up to an unescaped `,` or `}`. */
  private sequence(inBraces: boolean): Item[] {
    const items: Item[] = [];
    // Literal `{...}` text inside alternatives: its `}` is text too, not the end of the alternatives.
    let literalBraces = 0;
    while (this.at < this.chars.length) {
      const char = this.chars[this.at];
      if (inBraces && literalBraces === 0 && (char === ',' || char === '}')) break;
      this.at++;
      if (char === '*') {
        if (items.at(-1)?.kind !== 'star') items.push({ kind: 'star' });
      } else if (char === '?') items.push({ kind: 'char', test: (c) => c !== '/' });
      else if (char === '[') items.push(this.set());
      else if (char === '{' && this.hasAlternatives()) items.push(this.alternatives());
      else if (char === '\\') items.push(...literal(this.escaped()));
      else {
        if (char === '{') literalBraces++;
        else if (char === '}' && literalBraces > 0) literalBraces--;
        items.push(...literal(char));
      }
    }
    return items;
  }

  private escaped(): string {
    const char = this.chars[this.at++];
    if (char === undefined) throw new GlobSyntaxError('ends with a lone backslash (write \\\\ for one)');
    return char;
  }

  /**
   * Whether the `{` just read opens alternatives: a `,` before its matching `}`. `{abc}` and `{}` are
   * literal text, as in bash; `{1..3}` ranges are refused rather than read either way.
   */
  private hasAlternatives(): boolean {
    let depth = 0;
    for (let i = this.at; i < this.chars.length; i++) {
      const char = this.chars[i];
      if (char === '\\') i++;
      else if (char === '{') depth++;
      else if (char === ',' && depth === 0) return true;
      else if (char === '}') {
        if (depth === 0) {
          if (/^-?\w+\.\.-?\w+$/.test(this.chars.slice(this.at, i).join('')))
            throw new GlobSyntaxError(
              'brace ranges such as {1..3} are not supported: list them ({1,2,3}) or use [1-3]',
            );
          return false;
        }
        depth--;
      }
    }
    throw new GlobSyntaxError("'{' has no closing '}' (write \\{ for the character)");
  }

  private alternatives(): Item {
    const of: Item[][] = [this.sequence(true)];
    while (this.chars[this.at] === ',') {
      this.at++;
      of.push(this.sequence(true));
    }
    if (this.chars[this.at] !== '}')
      throw new GlobSyntaxError("'{' has no closing '}' (write \\{ for the character)");
    this.at++;
    return { kind: 'alternatives', of };
  }

  /** A `[...]` set, the `[` already read. `]` first in the set is a member; `!` or `^` first negates. */
  private set(): Item {
    const negated = this.chars[this.at] === '!' || this.chars[this.at] === '^';
    if (negated) this.at++;
    const members: CharTest[] = [];
    let first = true;
    for (;;) {
      let char = this.chars[this.at++];
      if (char === undefined)
        throw new GlobSyntaxError("'[' has no closing ']' (write \\[ for the character)");
      if (char === ']' && !first) break;
      first = false;
      if (char === '[' && this.chars[this.at] === ':') {
        members.push(this.posixClass());
        continue;
      }
      if (char === '\\') char = this.escaped();
      if (
        this.chars[this.at] === '-' &&
        this.chars[this.at + 1] !== undefined &&
        this.chars[this.at + 1] !== ']'
      ) {
        this.at++;
        let last = this.chars[this.at++];
        if (last === '\\') last = this.escaped();
        const [low, high] = [char.codePointAt(0) ?? 0, last.codePointAt(0) ?? 0];
        if (low > high) throw new GlobSyntaxError(`range ${char}-${last} is reversed`);
        members.push((c) => {
          const code = c.codePointAt(0) ?? -1;
          return code >= low && code <= high;
        });
      } else members.push((c) => c === char);
    }
    const inSet = (c: string) => members.some((test) => test(c));
    // The value is lower-cased; the set is as written: try the character's other case as well.
    const member = (c: string) => inSet(c) || inSet(c.toUpperCase());
    return { kind: 'char', test: negated ? (c) => c !== '/' && !member(c) : member };
  }

  private posixClass(): CharTest {
    const end = this.chars.indexOf(']', this.at);
    const name =
      end > 0 && this.chars[end - 1] === ':' ? this.chars.slice(this.at + 1, end - 1).join('') : '';
    const test = POSIX_CLASSES.get(name);
    if (!test)
      throw new GlobSyntaxError(
        `unknown character class [:${name}:] (known: ${[...POSIX_CLASSES.keys()].join(', ')})`,
      );
    this.at = end + 1;
    return (c) => test.test(c);
  }
}

/** A character as the lower-cased value spells it (one or, rarely, two characters: `İ` is `i̇`). */
function literal(char: string): Item[] {
  return [...char.toLowerCase()].map((lower) => ({ kind: 'char', test: (c: string) => c === lower }));
}

/** A pattern without alternatives: its character tests in order, and where a `*` stands between them. */
interface Sequence {
  tests: CharTest[];
  /** `stars[k]`: a `*` stands after the first k tests (k from 0 to tests.length). */
  stars: boolean[];
}

type Plain = Exclude<Item, { kind: 'alternatives' }>;

/** The item lists without alternatives that `items` stands for: one per choice of every `{a,b}`. */
function choicesOf(items: Item[]): Plain[][] {
  let lists: Plain[][] = [[]];
  for (const item of items) {
    const choices = item.kind === 'alternatives' ? item.of.flatMap(choicesOf) : [[item]];
    if (lists.length * choices.length > MAX_PATTERN_COMBINATIONS)
      throw new GlobSyntaxError(
        `has more than ${MAX_PATTERN_COMBINATIONS} combinations of {…} alternatives (each adds its own matching states): list fewer, or use a [set]`,
      );
    lists = lists.flatMap((head) => choices.map((choice) => [...head, ...choice]));
  }
  return lists;
}

function sequenceOf(items: Plain[]): Sequence {
  const tests: CharTest[] = [];
  const stars = [false];
  for (const item of items) {
    if (item.kind === 'star') stars[tests.length] = true;
    else {
      tests.push(item.test);
      stars.push(false);
    }
  }
  return { tests, stars };
}

/** Characters whose test results a matcher keeps; past this many it starts over (a hostile title's). */
const CACHED_CHARACTERS = 256;

/**
 * Sequences run side by side over the value with every position at once, as bits (shift-and): each
 * sequence of k tests holds k + 1 positions, and a set bit at its i-th says "its first i tests have
 * matched"; a character moves each set bit whose next test it passes one up, and keeps the bits where a
 * `*` stands. A sequence's last position has no test, so nothing moves from it into the next sequence.
 * Each character costs one pass over ⌈positions / 32⌉ words, whatever the patterns and the value: no
 * backtracking, no live-state lists, no matcher per pattern or combination.
 */
class BitMatcher {
  private readonly words: number;
  /** The test that moves a bit on from each position; null at the end of a sequence. */
  private readonly tests: (CharTest | null)[] = [];
  private readonly starts: Uint32Array;
  private readonly loops: Uint32Array;
  private readonly ends: Uint32Array;
  private readonly masks = new Map<string, Uint32Array>();
  private state: Uint32Array;
  private next: Uint32Array;

  constructor(sequences: readonly Sequence[]) {
    const positions = sequences.reduce((sum, sequence) => sum + sequence.tests.length + 1, 0);
    this.words = wordsFor(positions);
    this.starts = new Uint32Array(this.words);
    this.loops = new Uint32Array(this.words);
    this.ends = new Uint32Array(this.words);
    const set = (bits: Uint32Array, k: number) => {
      bits[k >>> 5] |= 1 << (k & 31);
    };
    for (const { tests, stars } of sequences) {
      const first = this.tests.length;
      set(this.starts, first);
      stars.forEach((star, i) => {
        if (star) set(this.loops, first + i);
      });
      this.tests.push(...tests, null);
      set(this.ends, this.tests.length - 1);
    }
    this.state = new Uint32Array(this.words);
    this.next = new Uint32Array(this.words);
  }

  /** Bit k set when the test at position k passes `char`. */
  private maskOf(char: string): Uint32Array {
    const known = this.masks.get(char);
    if (known) return known;
    const mask = new Uint32Array(this.words);
    this.tests.forEach((test, k) => {
      if (test?.(char)) mask[k >>> 5] |= 1 << (k & 31);
    });
    if (this.masks.size >= CACHED_CHARACTERS) this.masks.clear();
    this.masks.set(char, mask);
    return mask;
  }

  matches(value: string): boolean {
    this.state.set(this.starts);
    for (const char of value) {
      const mask = this.maskOf(char);
      let carry = 0;
      let live = 0;
      for (let w = 0; w < this.words; w++) {
        const moving = this.state[w] & mask[w];
        const bits = (moving << 1) | carry | (this.state[w] & this.loops[w]);
        carry = moving >>> 31;
        this.next[w] = bits;
        live |= bits;
      }
      if (live === 0) return false;
      const done = this.state;
      this.state = this.next;
      this.next = done;
    }
    return this.state.some((bits, w) => (bits & this.ends[w]) !== 0);
  }
}

function wordsFor(states: number): number {
  return Math.ceil(states / WORD_STATES);
}

/** The sequences a pattern stands for: one per combination of its alternatives. */
function sequencesOf(pattern: string): Sequence[] {
  return choicesOf(new Parser(pattern).parse()).map(sequenceOf);
}

/**
 * The matching states of a valid pattern: one per character test plus one, for each combination of
 * its alternatives (`web{1,2}*` has two combinations of five).
 */
export function globStates(pattern: string): number {
  return sequencesOf(pattern).reduce((sum, sequence) => sum + sequence.tests.length + 1, 0);
}

/**
 * The work per value character of the matcher of a valid pattern list (compileGlobs), in words: one
 * per 32 matching states of all its patterns, plus the cost of a pass.
 */
export function globMatchCost(patterns: readonly string[]): number {
  return MATCH_PASS_COST + wordsFor(patterns.reduce((sum, pattern) => sum + globStates(pattern), 0));
}

/** Why a pattern is unusable, or null when it compiles. */
export function globProblem(pattern: string): string | null {
  if (pattern.trim() !== pattern) return 'has leading or trailing spaces';
  if (pattern.startsWith('!'))
    return "negation ('!') is not supported: put the exception in an earlier rule or a protection";
  if (pattern.length > MAX_PATTERN_LENGTH)
    return `is longer than ${MAX_PATTERN_LENGTH} characters (a bound on the work of matching it; real patterns are far shorter)`;
  try {
    sequencesOf(pattern);
    return null;
  } catch (error) {
    if (error instanceof GlobSyntaxError) return error.message;
    throw error;
  }
}

/** Compiles a validated pattern list into one matcher that holds when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): Matcher {
  const matcher = new BitMatcher(patterns.flatMap(sequencesOf));
  return (value) => matcher.matches(value.trim().slice(0, MATCHED_PREFIX_LENGTH).toLowerCase());
}
