/**
 * Policy patterns: anchored, case-insensitive picomatch globs over a whole value (a host name, a tag,
 * a device group, an alert title). These values are not file paths, so picomatch's path and extglob
 * semantics are turned off: `*` crosses `/`, `.` segments and line breaks, and parentheses, `|` and
 * `"` are literal (MDE device groups such as `Servers (Production)` must match in any case, and
 * `Prod (EU)*` must not become a regex group with a quantifier).
 */
import picomatch from 'picomatch';

export type Matcher = (value: string) => boolean;

const OPTIONS: picomatch.PicomatchOptions = {
  dot: true,
  bash: true,
  strictBrackets: true,
  // picomatch's fast paths keep path rules (no `.`/`..` segments) that its general parser drops.
  fastpaths: false,
  noglobstar: true,
  noextglob: true,
  // `flags` replaces `nocase`: i for case, s so that `*` also crosses line breaks in alert titles.
  flags: 'is',
};

/**
 * Only this much of a value is matched. Real names and titles are far shorter; a hostile alert title
 * of megabytes would otherwise make a many-`*` pattern backtrack for seconds.
 */
export const MATCHED_PREFIX_LENGTH = 1024;

/**
 * Escapes what picomatch would not read as text: `(`, `)`, `|`, `"`, and `.` (it drops a leading
 * `./` as a path prefix). An author's own escapes stay as written.
 */
function asText(pattern: string): string {
  return pattern.replace(/\\.|[()|".]/gs, (token) => (token.length === 2 ? token : `\\${token}`));
}

/** Why a pattern is unusable, or null when it compiles to something that can match. */
export function globProblem(pattern: string): string | null {
  if (pattern.trim() !== pattern) return 'has leading or trailing spaces';
  if (pattern.startsWith('!'))
    return "negation ('!') is not supported: put the exception in an earlier rule or a protection";
  try {
    // picomatch answers an unusable pattern (e.g. a trailing backslash) with a regex that never matches.
    if (picomatch.makeRe(asText(pattern), OPTIONS).source === '$^')
      return 'can never match (trailing backslash?)';
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Compiles a validated pattern list into one matcher that holds when any pattern matches. */
export function compileGlobs(patterns: readonly string[]): Matcher {
  const matchers = patterns.map((pattern) => picomatch(asText(pattern), OPTIONS));
  return (value) => {
    const text = value.trim().slice(0, MATCHED_PREFIX_LENGTH);
    return matchers.some((match) => match(text));
  };
}
