/**
 * Validation of a policy document: the JSON Schema (ajv, every error at once) and then what a schema
 * cannot say (patterns compile, names are unique, templates name known placeholders). Every problem
 * is reported with its JSON pointer, so an operator fixes a policy in one round.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDuration } from '../kernel/duration';
import { isRecord, type JsonRecord } from '../kernel/records';
import { templateProblems } from './comment';
import {
  ALERT_CONDITION_KEYS,
  APPROVAL_EXPIRY_MAX_MS,
  BUILT_IN_RULES,
  DEVICE_CONDITION_KEYS,
  type PolicyDocument,
  PROTECTION_SELECTOR_KEYS,
} from './document';
import { globMatchCost, globProblem, MATCH_PASS_COST, MAX_POLICY_MATCH_COST } from './glob';
import { validate as validatePolicySchema } from './policy-schema.generated';

export interface PolicyProblem {
  /** JSON pointer into the policy document ('' is the document itself). */
  path: string;
  message: string;
}

export type PolicyValidation =
  | { valid: true; policy: PolicyDocument; errors: [] }
  | { valid: false; errors: PolicyProblem[] };

export function formatProblem(problem: PolicyProblem): string {
  return `${problem.path || '(policy)'}: ${problem.message}`;
}

export class PolicyError extends Error {
  constructor(
    readonly problems: PolicyProblem[],
    /** Where the policy came from: a file path, `inline ISOLATION_POLICY` or `shipped default`. */
    readonly origin: string,
  ) {
    super(
      `Invalid isolation policy (${origin}, ${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'PolicyError';
  }
}

/**
 * The schema's validator, compiled ahead of time (ajv standalone): compiling the schema at start-up
 * took most of the worker's cold start (docs/architecture.md §8). A test keeps it equal to the schema.
 */
// Standalone code carries no types: it is the function ajv would have compiled, with `errors` on it.
const schemaValidator = validatePolicySchema as unknown as ValidateFunction;

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length];
}

/** The known field a typo most likely meant (`severty` → `minSeverity`), if one is close. */
function closestField(unknown: string, known: string[]): string | undefined {
  const typed = unknown.toLowerCase();
  let best: { field: string; distance: number } | undefined;
  for (const field of known) {
    const bare = field.toLowerCase();
    const distance = Math.min(editDistance(typed, bare), editDistance(typed, bare.replace(/^min/, '')));
    if (distance <= 2 && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

function schemaProblem(error: ErrorObject): PolicyProblem {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const parent = error.parentSchema as
    | { properties?: Record<string, unknown>; examples?: unknown[] }
    | undefined;
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const guess = closestField(field, Object.keys(parent?.properties ?? {}));
      return { path, message: `unknown field '${field}'${guess ? ` (did you mean '${guess}'?)` : ''}` };
    }
    case 'required':
      return { path, message: `missing field '${String(params.missingProperty)}'` };
    case 'enum':
      return {
        path,
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')} (got ${describeType(error.data)})`,
      };
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'type':
      return {
        path,
        message: `must be ${TYPE_WORDS[String(params.type)] ?? String(params.type)} (got ${describeType(error.data)})`,
      };
    case 'pattern': {
      const examples = parent?.examples?.map(String).join(', ');
      return {
        path,
        message: `${JSON.stringify(error.data)} does not have the expected form${examples ? ` (like ${examples})` : ` ${String(params.pattern)}`}`,
      };
    }
    case 'minItems':
      return { path, message: `must list at least ${String(params.limit)} item (or be left out)` };
    case 'minLength':
      return { path, message: 'must not be empty' };
    case 'uniqueItems':
      return {
        path,
        message: `lists the same value twice (items ${String(params.j)} and ${String(params.i)})`,
      };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

const GLOB_FIELDS = ['tags', 'deviceGroups', 'osPlatforms', 'hostnames'] as const;
const CONDITION_KEYS = [...ALERT_CONDITION_KEYS, ...DEVICE_CONDITION_KEYS];

/** Checks a schema cannot express. Tolerates a badly shaped document: the schema reports the shape. */
function semanticProblems(document: unknown): PolicyProblem[] {
  if (!isRecord(document)) return [];
  const problems: PolicyProblem[] = [];
  const seenNames = new Map<string, string>();

  const checkName = (entry: JsonRecord, path: string) => {
    if (typeof entry.name !== 'string') return;
    const name = entry.name.toLowerCase();
    if ((BUILT_IN_RULES as readonly string[]).includes(name))
      problems.push({ path: `${path}/name`, message: `'${entry.name}' is reserved for built-in decisions` });
    const earlier = seenNames.get(name);
    if (earlier)
      problems.push({ path: `${path}/name`, message: `'${entry.name}' is already used by ${earlier}` });
    else seenNames.set(name, path);
  };
  let matchCost = 0;
  /** True when the pattern compiles; else its problem is recorded at `path`. */
  const checkPattern = (pattern: unknown, path: string): pattern is string => {
    if (typeof pattern !== 'string' || pattern === '') return false;
    const problem = globProblem(pattern);
    if (!problem) return true;
    const shown = pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern;
    problems.push({ path, message: `bad pattern "${shown}": ${problem}` });
    return false;
  };
  // Each list (and each title) is one matcher, and any of them may be matched on every alert: their
  // total bounds the work of one decision.
  const countWork = (patterns: string[], path: string) => {
    if (patterns.length === 0) return;
    const before = matchCost;
    matchCost += globMatchCost(patterns);
    if (before <= MAX_POLICY_MATCH_COST && matchCost > MAX_POLICY_MATCH_COST)
      problems.push({
        path,
        message: `with these patterns matching the policy's patterns costs ${matchCost} words per value character, more than ${MAX_POLICY_MATCH_COST} (each title and each list costs ${MATCH_PASS_COST}, plus a word per 32 matching states of its patterns; one state per pattern character, for each {…} combination; rules and protections together; every alert may meet them all): shorten patterns, gather them in fewer lists, or select devices by tag or id`,
      });
  };
  // The schema checks the form; how long a person may take is bounded here.
  const checkApproval = (entry: JsonRecord, path: string) => {
    const approval = entry.approval;
    if (!isRecord(approval) || typeof approval.expiresAfter !== 'string') return;
    const ms = parseDuration(approval.expiresAfter);
    if (ms !== null && ms > APPROVAL_EXPIRY_MAX_MS)
      problems.push({
        path: `${path}/approval/expiresAfter`,
        message: `is longer than 7d: an approval waits at most a week`,
      });
  };
  const checkPatterns = (entry: JsonRecord, path: string) => {
    for (const field of GLOB_FIELDS) {
      const list = entry[field];
      if (!Array.isArray(list)) continue;
      const valid = list.filter((pattern, index): pattern is string =>
        checkPattern(pattern, `${path}/${field}/${index}`),
      );
      countWork(valid, `${path}/${field}`);
    }
    if (checkPattern(entry.title, `${path}/title`)) countWork([entry.title], `${path}/title`);
  };

  const protections = Array.isArray(document.protections) ? document.protections : [];
  protections.forEach((protection, index) => {
    if (!isRecord(protection)) return;
    const path = `/protections/${index}`;
    checkName(protection, path);
    checkPatterns(protection, path);
    checkApproval(protection, path);
    if (!PROTECTION_SELECTOR_KEYS.some((key) => protection[key] !== undefined))
      problems.push({
        path,
        message: `names no device: give at least one of ${PROTECTION_SELECTOR_KEYS.join(', ')}`,
      });
  });

  const rules = Array.isArray(document.rules) ? document.rules : [];
  let catchAll: string | null = null;
  rules.forEach((rule, index) => {
    if (!isRecord(rule)) return;
    const path = `/rules/${index}`;
    checkName(rule, path);
    checkPatterns(rule, path);
    checkApproval(rule, path);
    for (const key of ['isolationType', 'isolateFor', 'onLift', 'onTimeout', 'approval'])
      if (rule[key] !== undefined && rule.action !== 'isolate')
        problems.push({ path: `${path}/${key}`, message: 'only applies to action isolate' });
    // First match wins, so a rule after one without conditions can never decide anything.
    if (catchAll)
      problems.push({
        path,
        message: `is never reached: ${catchAll} has no conditions and matches every alert`,
      });
    else if (!CONDITION_KEYS.some((key) => rule[key] !== undefined))
      catchAll = `${path} ('${String(rule.name)}')`;
  });

  const comment = document.comment;
  if (isRecord(comment) && typeof comment.template === 'string')
    for (const message of templateProblems(comment.template))
      problems.push({ path: '/comment/template', message });
  return problems;
}

/** Validates a parsed policy document; never throws. */
export function validatePolicy(document: unknown): PolicyValidation {
  const errors: PolicyProblem[] = schemaValidator(document)
    ? []
    : (schemaValidator.errors ?? []).map(schemaProblem);
  errors.push(...semanticProblems(document));
  const unique = [...new Map(errors.map((e) => [formatProblem(e), e])).values()];
  if (unique.length > 0) return { valid: false, errors: unique };
  return { valid: true, policy: document as PolicyDocument, errors: [] };
}
