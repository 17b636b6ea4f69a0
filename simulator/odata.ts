/**
 * The subset of OData V4 `$filter` the MDE docs use (docs/mde-api.md §7.3, §8.3): `eq ne gt ge lt le`,
 * `and or not`, parentheses, `startswith/endswith/contains`, and the lambda
 * `machineTags/any(tag: tag eq 'x')`. String literals follow the standard (a quote inside is
 * doubled), so a value can never break out of its literal. String comparisons are case-insensitive,
 * as MDE's are. Anything else is an `ODataError`, as MDE answers for a bad query.
 */

export class ODataError extends Error {}

export type PropertyType = 'string' | 'number' | 'datetime' | 'collection';
/** Filterable properties of one entity set, by their JSON name. */
export type ODataSchema = Readonly<Record<string, PropertyType>>;

type Literal = string | number | boolean | null;
type Operand =
  | { kind: 'property'; name: string }
  | { kind: 'variable'; name: string }
  | { kind: 'literal'; value: Literal; isDate: boolean };
const COMPARISONS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
type Comparison = (typeof COMPARISONS)[number];
const FUNCTIONS = ['startswith', 'endswith', 'contains'] as const;
type StringFunction = (typeof FUNCTIONS)[number];

export type Filter =
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; operand: Filter }
  | { op: 'compare'; comparison: Comparison; left: Operand; right: Operand }
  | { op: 'function'; name: StringFunction; subject: Operand; argument: Operand }
  | { op: 'any'; collection: string; variable: string; body: Filter };

interface Token {
  kind: 'word' | 'string' | 'number' | 'date' | 'punct';
  text: string;
  position: number;
}

const MAX_DEPTH = 32;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ODataError(`unterminated string literal at position ${i}`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j++];
      }
      tokens.push({ kind: 'string', text: value, position: i });
      i = j + 1;
    } else if ('(),:/'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, position: i++ });
    } else if (/[0-9-]/.test(ch)) {
      const match = /^-?[0-9][0-9A-Za-z:.+-]*/.exec(text.slice(i));
      const raw = match?.[0] ?? ch;
      if (/^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(Date.parse(raw)))
        tokens.push({ kind: 'date', text: raw, position: i });
      else if (/^-?\d+(\.\d+)?$/.test(raw)) tokens.push({ kind: 'number', text: raw, position: i });
      else throw new ODataError(`invalid literal '${raw}' at position ${i}`);
      i += raw.length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const raw = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0] ?? ch;
      tokens.push({ kind: 'word', text: raw, position: i });
      i += raw.length;
    } else {
      throw new ODataError(`syntax error at position ${i}: unexpected '${ch}'`);
    }
  }
  return tokens;
}

class Parser {
  private index = 0;
  private readonly variables: string[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly schema: ODataSchema,
    private readonly entityName: string,
  ) {}

  parseAll(): Filter {
    const filter = this.parseOr(0);
    const rest = this.tokens[this.index];
    if (rest) throw new ODataError(`syntax error at position ${rest.position}: unexpected '${rest.text}'`);
    return filter;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private isWord(text: string): boolean {
    const token = this.peek();
    return token?.kind === 'word' && token.text === text;
  }

  private expectPunct(text: string): void {
    const token = this.tokens[this.index++];
    if (token?.kind !== 'punct' || token.text !== text)
      throw new ODataError(
        `syntax error: expected '${text}'${token ? ` at position ${token.position}` : ' at end of query'}`,
      );
  }

  private parseOr(depth: number): Filter {
    let left = this.parseAnd(depth);
    while (this.isWord('or')) {
      this.index++;
      left = { op: 'or', left, right: this.parseAnd(depth) };
    }
    return left;
  }

  private parseAnd(depth: number): Filter {
    let left = this.parseUnary(depth);
    while (this.isWord('and')) {
      this.index++;
      left = { op: 'and', left, right: this.parseUnary(depth) };
    }
    return left;
  }

  private parseUnary(depth: number): Filter {
    if (depth > MAX_DEPTH) throw new ODataError('query nested too deeply');
    if (this.isWord('not')) {
      this.index++;
      return { op: 'not', operand: this.parseUnary(depth + 1) };
    }
    const token = this.peek();
    if (token?.kind === 'punct' && token.text === '(') {
      this.index++;
      const inner = this.parseOr(depth + 1);
      this.expectPunct(')');
      return inner;
    }
    const next = this.tokens[this.index + 1];
    if (token?.kind === 'word' && next?.kind === 'punct' && next.text === '(')
      return this.parseFunction(token, depth);
    if (token?.kind === 'word' && next?.kind === 'punct' && next.text === '/')
      return this.parseLambda(token, depth);
    const left = this.parseOperand();
    const op = this.tokens[this.index++];
    if (op?.kind !== 'word' || !(COMPARISONS as readonly string[]).includes(op.text))
      throw new ODataError(
        `syntax error: expected a comparison operator${op ? ` at position ${op.position}` : ' at end of query'}`,
      );
    return { op: 'compare', comparison: op.text as Comparison, left, right: this.parseOperand() };
  }

  private parseFunction(token: Token, _depth: number): Filter {
    const name = token.text.toLowerCase();
    if (!(FUNCTIONS as readonly string[]).includes(name))
      throw new ODataError(`unknown function '${token.text}'`);
    this.index += 2;
    const subject = this.parseOperand();
    this.expectPunct(',');
    const argument = this.parseOperand();
    this.expectPunct(')');
    return { op: 'function', name: name as StringFunction, subject, argument };
  }

  private parseLambda(token: Token, depth: number): Filter {
    const collection = this.propertyName(token);
    if (this.schema[collection] !== 'collection') throw new ODataError(`'${token.text}' is not a collection`);
    this.index += 2;
    if (!this.isWord('any')) throw new ODataError(`only the 'any' lambda is supported on '${token.text}'`);
    this.index++;
    this.expectPunct('(');
    const variable = this.tokens[this.index++];
    if (variable?.kind !== 'word') throw new ODataError('syntax error: expected a lambda variable');
    this.expectPunct(':');
    this.variables.push(variable.text);
    const body = this.parseOr(depth + 1);
    this.variables.pop();
    this.expectPunct(')');
    return { op: 'any', collection, variable: variable.text, body };
  }

  private propertyName(token: Token): string {
    const name = Object.keys(this.schema).find((key) => key.toLowerCase() === token.text.toLowerCase());
    if (!name)
      throw new ODataError(
        `Could not find a property named '${token.text}' on type '${this.entityName}' that can be filtered on`,
      );
    return name;
  }

  private parseOperand(): Operand {
    const token = this.tokens[this.index++];
    if (!token) throw new ODataError('syntax error: unexpected end of query');
    switch (token.kind) {
      case 'string':
        return { kind: 'literal', value: token.text, isDate: false };
      case 'number':
        return { kind: 'literal', value: Number(token.text), isDate: false };
      case 'date':
        return { kind: 'literal', value: token.text, isDate: true };
      case 'word':
        if (token.text === 'true' || token.text === 'false')
          return { kind: 'literal', value: token.text === 'true', isDate: false };
        if (token.text === 'null') return { kind: 'literal', value: null, isDate: false };
        if (this.variables.includes(token.text)) return { kind: 'variable', name: token.text };
        {
          const name = this.propertyName(token);
          if (this.schema[name] === 'collection')
            throw new ODataError(`'${token.text}' is a collection: use ${token.text}/any(...)`);
          return { kind: 'property', name };
        }
      default:
        throw new ODataError(`syntax error at position ${token.position}: unexpected '${token.text}'`);
    }
  }
}

export function parseFilter(text: string, schema: ODataSchema, entityName: string): Filter {
  return new Parser(tokenize(text), schema, entityName).parseAll();
}

type Scope = Readonly<Record<string, unknown>>;

function operandValue(operand: Operand, entity: Scope, scope: Scope): unknown {
  if (operand.kind === 'literal') return operand.value;
  if (operand.kind === 'variable') return scope[operand.name];
  return entity[operand.name];
}

function isDateOperand(operand: Operand, schema: ODataSchema): boolean {
  return operand.kind === 'literal'
    ? operand.isDate
    : operand.kind === 'property' && schema[operand.name] === 'datetime';
}

function compare(comparison: Comparison, left: unknown, right: unknown, asDates: boolean): boolean {
  if (left === null || left === undefined || right === null || right === undefined) {
    const equal = (left ?? null) === (right ?? null);
    return comparison === 'eq' ? equal : comparison === 'ne' ? !equal : false;
  }
  let a: string | number;
  let b: string | number;
  if (asDates) {
    a = Date.parse(String(left));
    b = Date.parse(String(right));
  } else if (typeof left === 'number' || typeof right === 'number') {
    a = Number(left);
    b = Number(right);
  } else {
    a = String(left).toLowerCase();
    b = String(right).toLowerCase();
  }
  switch (comparison) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
  }
}

export function matches(filter: Filter, entity: Scope, schema: ODataSchema, scope: Scope = {}): boolean {
  switch (filter.op) {
    case 'and':
      return matches(filter.left, entity, schema, scope) && matches(filter.right, entity, schema, scope);
    case 'or':
      return matches(filter.left, entity, schema, scope) || matches(filter.right, entity, schema, scope);
    case 'not':
      return !matches(filter.operand, entity, schema, scope);
    case 'compare': {
      const asDates = isDateOperand(filter.left, schema) || isDateOperand(filter.right, schema);
      return compare(
        filter.comparison,
        operandValue(filter.left, entity, scope),
        operandValue(filter.right, entity, scope),
        asDates,
      );
    }
    case 'function': {
      const subject = operandValue(filter.subject, entity, scope);
      const argument = operandValue(filter.argument, entity, scope);
      if (typeof subject !== 'string' || typeof argument !== 'string') return false;
      const s = subject.toLowerCase();
      const a = argument.toLowerCase();
      return filter.name === 'startswith'
        ? s.startsWith(a)
        : filter.name === 'endswith'
          ? s.endsWith(a)
          : s.includes(a);
    }
    case 'any': {
      const items = entity[filter.collection];
      if (!Array.isArray(items)) return false;
      return items.some((item) =>
        matches(filter.body, entity, schema, { ...scope, [filter.variable]: item }),
      );
    }
  }
}
