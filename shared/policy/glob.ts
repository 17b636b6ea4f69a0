/**
 * Policy patterns: anchored, case-insensitive picomatch globs over a whole value (a host name, a tag,
 * an alert title). `*` crosses `/` and `.` because these values are not file paths.
 */
import picomatch from 'picomatch';

export type Matcher = (value: string) => boolean;

const OPTIONS: picomatch.PicomatchOptions = { nocase: true, dot: true, bash: true, strictBrackets: true };

/** Why a pattern is unusable, or null when it compiles to something that can match. */
export function globProblem(pattern: string): string | null {
  if (pattern.trim() !== pattern) return 'has leading or trailing spaces';
  if (pattern.startsWith('!'))
    return "negation ('!') is not supported: put the exception in an earlier rule or a protection";
  try {
    // picomatch answers an unusable pattern (e.g. a trailing backslash) with a regex that never matches.
    if (picomatch.makeRe(pattern, OPTIONS).source === '$^') return 'can never match (trailing backslash?)';
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Compiles a validated pattern list into one matcher that holds when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): Matcher {
  const matchers = patterns.map((pattern) => picomatch(pattern, OPTIONS));
  return (value) => matchers.some((match) => match(value));
}
