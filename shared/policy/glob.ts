/**
 * Policy patterns: anchored, case-insensitive globs over a whole value (a host name, a tag, a device
 * group, an alert title). These values are not file paths: `*` is any run of characters (`/`, `.` and
 * line breaks included), `?` one character other than `/`, `[a-z]` / `[!a-z]` one character of (not
 * of) a set, `{a,b}` either alternative, `\` escapes the next character, and everything else is
 * literal, parentheses, `|` and `"` included (MDE device groups such as `Servers (Production)`).
 *
 * A pattern compiles to a small automaton that is run over the value with every state at once
 * (Thompson's construction), never by backtracking: a match costs at most value length × pattern
 * length steps, so no pattern, however many `*` it has, can stall the app on a hostile title
 * (`*-*-*-*!` once took 24 s per match as a backtracking regex).
 */

export type Matcher = (value: string) => boolean;

/**
 * Only this much of a value is matched: real names and titles are far shorter, and it bounds the
 * work of a match together with MAX_PATTERN_LENGTH.
 */
export const MATCHED_PREFIX_LENGTH = 1024;
/** Longer than any name or title pattern a person writes. */
export const MAX_PATTERN_LENGTH = 512;

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

/** The automaton: states are indexes; `star` consumes any character and stays, or moves on freely. */
type State =
  | { kind: 'char'; test: CharTest; next: number }
  | { kind: 'star'; next: number }
  | { kind: 'split'; next: number[] }
  | { kind: 'accept' };

class Automaton {
  private readonly states: State[] = [{ kind: 'accept' }];
  private readonly start: number;
  /** Per-step de-duplication of states: the step that last added each, steps numbered across calls. */
  private readonly seen: Float64Array;
  private step = 0;

  constructor(items: Item[]) {
    this.start = this.build(items, 0);
    this.seen = new Float64Array(this.states.length).fill(-1);
  }

  /** Builds `items` back to front so that each state knows its successor; returns the first state. */
  private build(items: Item[], next: number): number {
    let first = next;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i];
      if (item.kind === 'alternatives') {
        const starts = item.of.map((alternative) => this.build(alternative, first));
        this.states.push({ kind: 'split', next: starts });
      } else if (item.kind === 'star') this.states.push({ kind: 'star', next: first });
      else this.states.push({ kind: 'char', test: item.test, next: first });
      first = this.states.length - 1;
    }
    return first;
  }

  /** Adds `state` and every state reachable from it without consuming a character. */
  private enter(state: number, step: number, into: number[]): void {
    if (this.seen[state] === step) return;
    this.seen[state] = step;
    into.push(state);
    const node = this.states[state];
    if (node.kind === 'star') this.enter(node.next, step, into);
    else if (node.kind === 'split') for (const next of node.next) this.enter(next, step, into);
  }

  matches(chars: readonly string[]): boolean {
    let current: number[] = [];
    this.enter(this.start, ++this.step, current);
    for (const char of chars) {
      const next: number[] = [];
      const step = ++this.step;
      for (const state of current) {
        const node = this.states[state];
        if (node.kind === 'star') this.enter(state, step, next);
        else if (node.kind === 'char' && node.test(char)) this.enter(node.next, step, next);
      }
      if (next.length === 0) return false;
      current = next;
    }
    return current.includes(0);
  }
}

function compile(pattern: string): Automaton {
  return new Automaton(new Parser(pattern).parse());
}

/** Why a pattern is unusable, or null when it compiles. */
export function globProblem(pattern: string): string | null {
  if (pattern.trim() !== pattern) return 'has leading or trailing spaces';
  if (pattern.startsWith('!'))
    return "negation ('!') is not supported: put the exception in an earlier rule or a protection";
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    compile(pattern);
    return null;
  } catch (error) {
    if (error instanceof GlobSyntaxError) return error.message;
    throw error;
  }
}

/** Compiles a validated pattern list into one matcher that holds when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): Matcher {
  const automata = patterns.map(compile);
  return (value) => {
    const chars = [...value.trim().slice(0, MATCHED_PREFIX_LENGTH).toLowerCase()];
    return automata.some((automaton) => automaton.matches(chars));
  };
}
