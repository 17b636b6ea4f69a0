/**
 * The policy as the app starts with it: its text parsed and validated, every problem named in one
 * PolicyError. Kept apart from compiling it (load.ts), so the Service Bus triggers can check the
 * policy before they register without loading the engine (docs/architecture.md §8).
 */
import type { PolicySource } from '../config';
import defaultPolicy from './default-policy.json';
import type { PolicyDocument } from './document';
import { PolicyError, validatePolicy } from './validate';

export function policyOrigin(source: PolicySource): string {
  if (source.kind === 'file') return source.path;
  return source.kind === 'inline' ? 'inline ISOLATION_POLICY' : 'shipped default policy';
}

/**
 * What the JSON parser found, in fixed words: its own message quotes the text around the error, and
 * a policy file named by mistake (a key file, a settings file) must never reach a log that way.
 */
const JSON_PROBLEMS: ReadonlyArray<[RegExp, string]> = [
  [/Unexpected end of JSON input/, 'the text ends before the JSON is complete'],
  [/Unexpected non-whitespace character after JSON/, 'more text after the JSON document'],
  [
    /Expected property name|Expected double-quoted property name/,
    "expected a property name in double quotes or '}'",
  ],
  [/Expected ':'/, "expected ':' after a property name"],
  [/Expected ',' or '}'/, "expected ',' or '}' after a property value"],
  [/Expected ',' or ']'/, "expected ',' or ']' after an array element"],
  [/Unterminated string/, 'a string is never closed'],
  [/Bad control character/, 'a control character (a tab or line break) inside a string'],
  [/Bad (Unicode )?escape|Bad escaped character/, 'a bad escape sequence inside a string'],
  [/Unexpected token/, 'an unexpected character where a value was expected'],
];

function jsonProblem(error: Error, text: string): string {
  const what = JSON_PROBLEMS.find(([pattern]) => pattern.test(error.message))?.[1] ?? 'not parseable';
  const at = /at position (\d+)/.exec(error.message);
  if (!at) return what;
  const position = Number(at[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${what}, at line ${line} column ${column}`;
}

/** Parses policy JSON, reporting a syntax error as a PolicyError like any other problem, without its text. */
export function parsePolicyText(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PolicyError(
      [{ path: '', message: `not valid JSON: ${jsonProblem(error as Error, text)}` }],
      origin,
    );
  }
}

/** The validated document of `source`; throws one PolicyError naming every problem. */
export function readPolicy(source: PolicySource): PolicyDocument {
  const origin = policyOrigin(source);
  const document = source.kind === 'default' ? defaultPolicy : parsePolicyText(source.text, origin);
  const result = validatePolicy(document);
  if (!result.valid) throw new PolicyError(result.errors, origin);
  return result.policy;
}
