/**
 * A small reader of Bicep syntax trees (tree-sitter-bicep), so the infra tests assert on declarations and
 * property values instead of matching text. No Bicep compiler runs here; this is the next best check.
 *
 * Two gaps of the grammar (tree-sitter-bicep 1.1.0) are accepted explicitly and nowhere else:
 * - it predates the `extension <name>` statement (Bicep 0.30+), which it parses as a top-level ERROR made of
 *   exactly two identifiers, the first being `extension`;
 * - it has no `.bicepparam` rules: `param name = value` parses as a parameter declaration whose `=` is an
 *   ERROR and whose value is read as a type; when the value is a function call (`readEnvironmentVariable(…)`),
 *   the `=` becomes a missing type identifier instead, followed by the call. Only that `=` is forgiven, so a
 *   broken value still fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Parser, { type SyntaxNode } from 'tree-sitter';
import Bicep from 'tree-sitter-bicep';

export type { SyntaxNode };

export interface BicepFile {
  /** Path as shown in messages (relative to the repo root when read from disk). */
  path: string;
  kind: 'bicep' | 'bicepparam';
  root: SyntaxNode;
}

export interface ResourceDecl {
  file: BicepFile;
  symbol: string;
  /** `Microsoft.Web/sites@2023-12-01` as written. */
  typeString: string;
  type: string;
  apiVersion: string | null;
  existing: boolean;
  /** The object literal of the resource (inside `if (...)` or `[for ...]` when present). */
  body: SyntaxNode;
  condition: SyntaxNode | null;
  loop: boolean;
  line: number;
}

export interface ModuleDecl {
  file: BicepFile;
  symbol: string;
  path: string;
  body: SyntaxNode;
  condition: SyntaxNode | null;
  line: number;
}

export interface Declaration {
  file: BicepFile;
  kind: 'param' | 'var' | 'output';
  name: string;
  /** Default value (param), value (var, output), or null for a param without default. */
  value: SyntaxNode | null;
  decorators: string[];
  line: number;
}

const parser = new Parser();
parser.setLanguage(Bicep as unknown as Parser.Language);

export function parseBicep(text: string, path: string): BicepFile {
  return {
    path,
    kind: path.endsWith('.bicepparam') ? 'bicepparam' : 'bicep',
    root: parser.parse(text).rootNode,
  };
}

/** Every .bicep and .bicepparam file under `dir`, parsed, with paths relative to `base`. */
export function loadBicepFiles(dir: string, base: string): BicepFile[] {
  const found: BicepFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.bicep(param)?$/.test(entry.name))
        found.push(parseBicep(readFileSync(full, 'utf8'), relative(base, full)));
    }
  };
  walk(dir);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

export const lineOf = (node: SyntaxNode) => node.startPosition.row + 1;

function descendants(node: SyntaxNode): SyntaxNode[] {
  const all: SyntaxNode[] = [];
  const visit = (n: SyntaxNode) => {
    all.push(n);
    for (const child of n.children) visit(child);
  };
  visit(node);
  return all;
}

function isExtensionStatement(node: SyntaxNode): boolean {
  const parts = node.namedChildren;
  return (
    node.parent?.type === 'infrastructure' &&
    parts.length === 2 &&
    parts[0].type === 'identifier' &&
    parts[0].text === 'extension' &&
    (parts[1].type === 'identifier' || parts[1].type === 'string')
  );
}

function isParamAssignment(file: BicepFile, node: SyntaxNode): boolean {
  if (file.kind !== 'bicepparam' || node.parent?.type !== 'parameter_declaration') return false;
  // `param name = call(…)`: the type the grammar expected where the `=` stands, then the call.
  if (node.isMissing) return node.type === 'identifier' && node.nextNamedSibling?.type === 'call_expression';
  return node.text === '=';
}

/** Syntax errors as `path:line:column: message`, except the two documented grammar gaps. */
export function syntaxProblems(file: BicepFile): string[] {
  const problems: string[] = [];
  for (const node of descendants(file.root)) {
    const where = `${file.path}:${lineOf(node)}:${node.startPosition.column + 1}`;
    if (node.isMissing && !isParamAssignment(file, node)) problems.push(`${where}: missing ${node.type}`);
    else if (node.type === 'ERROR' && !isExtensionStatement(node) && !isParamAssignment(file, node))
      problems.push(`${where}: cannot parse "${node.text.split('\n')[0].slice(0, 60)}"`);
  }
  return problems;
}

/** Names of the `extension` statements of a file (see the grammar gap above). */
export function extensions(file: BicepFile): string[] {
  return file.root.namedChildren
    .filter(isExtensionStatement)
    .map((n) => literal(n.namedChildren[1]) ?? n.namedChildren[1].text) as string[];
}

const unescapeBicep = (text: string) =>
  text.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);

/** The value of a string, number, boolean or null literal; undefined for anything computed. */
export function literal(node: SyntaxNode | null): string | number | boolean | null | undefined {
  if (!node) return undefined;
  switch (node.type) {
    case 'string': {
      if (node.namedChildren.some((c) => c.type === 'interpolation')) return undefined;
      return node.text.startsWith("'''") ? node.text.slice(3, -3) : unescapeBicep(node.text.slice(1, -1));
    }
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    case 'parenthesized_expression':
      return node.namedChildren.length === 1 ? literal(node.namedChildren[0]) : undefined;
    default:
      return undefined;
  }
}

function propertyKey(prop: SyntaxNode): string {
  const key = prop.namedChildren[0];
  return key.type === 'string' ? String(literal(key)) : key.text;
}

/** Key/value pairs of an object literal (empty for anything else). */
export function entries(obj: SyntaxNode | null): { key: string; value: SyntaxNode }[] {
  if (obj?.type !== 'object') return [];
  return obj.namedChildren
    .filter((c) => c.type === 'object_property')
    .map((p) => ({ key: propertyKey(p), value: p.namedChildren[p.namedChildren.length - 1] }));
}

/** Follows a path of keys through nested object literals: property(body, 'properties', 'httpsOnly'). */
export function property(obj: SyntaxNode | null, ...path: string[]): SyntaxNode | null {
  let current: SyntaxNode | null = obj;
  for (const key of path) {
    current = entries(current).find((e) => e.key === key)?.value ?? null;
    if (!current) return null;
  }
  return current;
}

function bodyOf(valueNode: SyntaxNode): { body: SyntaxNode; condition: SyntaxNode | null; loop: boolean } {
  if (valueNode.type === 'if_statement')
    return { body: valueNode.namedChildren[1], condition: valueNode.namedChildren[0], loop: false };
  if (valueNode.type === 'for_statement') {
    const body =
      valueNode.childForFieldName('body') ?? valueNode.namedChildren[valueNode.namedChildCount - 1];
    return { body, condition: null, loop: true };
  }
  return { body: valueNode, condition: null, loop: false };
}

export function resources(file: BicepFile): ResourceDecl[] {
  return descendants(file.root)
    .filter((n) => n.type === 'resource_declaration')
    .map((n) => {
      const [symbol, typeNode] = n.namedChildren;
      const typeString = String(literal(typeNode));
      const at = typeString.indexOf('@');
      return {
        file,
        symbol: symbol.text,
        typeString,
        type: at < 0 ? typeString : typeString.slice(0, at),
        apiVersion: at < 0 ? null : typeString.slice(at + 1),
        existing: n.children.some((c) => c.type === 'existing'),
        ...bodyOf(n.namedChildren[n.namedChildCount - 1]),
        line: lineOf(n),
      };
    });
}

export function modules(file: BicepFile): ModuleDecl[] {
  return file.root.namedChildren
    .filter((n) => n.type === 'module_declaration')
    .map((n) => {
      const { body, condition } = bodyOf(n.namedChildren[n.namedChildCount - 1]);
      return {
        file,
        symbol: n.namedChildren[0].text,
        path: String(literal(n.namedChildren[1])),
        body,
        condition,
        line: lineOf(n),
      };
    });
}

const DECLARATION_KINDS = {
  parameter_declaration: 'param',
  variable_declaration: 'var',
  output_declaration: 'output',
} as const;

export function declarations(file: BicepFile): Declaration[] {
  const found: Declaration[] = [];
  const statements = file.root.namedChildren.filter(
    (n) => n.type !== 'comment' && n.type !== 'diagnostic_comment',
  );
  statements.forEach((node, index) => {
    const kind = DECLARATION_KINDS[node.type as keyof typeof DECLARATION_KINDS];
    if (!kind) return;
    const previous = statements[index - 1];
    const decorators =
      previous?.type === 'decorators'
        ? previous.namedChildren.map((d) => d.namedChildren[0]?.childForFieldName('function')?.text ?? '')
        : [];
    // param: name type [= value]; var: name = value; output: name type = value.
    const named = node.namedChildren;
    let value: SyntaxNode | null = null;
    if (kind === 'var') value = named[1] ?? null;
    else if (kind === 'output') value = named[2] ?? null;
    else if (file.kind === 'bicepparam') value = named[named.length - 1] ?? null;
    else value = named.length > 2 ? named[named.length - 1] : null;
    found.push({ file, kind, name: named[0].text, value, decorators, line: lineOf(node) });
  });
  return found;
}

/** Names brought in with `import { a, b as c } from 'path'`, mapped to the path (local name → path). */
export function imports(file: BicepFile): Map<string, { path: string; original: string }> {
  const found = new Map<string, { path: string; original: string }>();
  for (const node of file.root.namedChildren.filter((n) => n.type === 'import_functionality')) {
    const path = String(literal(node.namedChildren.find((c) => c.type === 'string') ?? null));
    const parts = node.children;
    parts.forEach((part, i) => {
      if (part.type !== 'identifier' || parts[i - 1]?.type === 'as') return;
      const aliased = parts[i + 1]?.type === 'as';
      found.set(aliased ? parts[i + 2].text : part.text, { path, original: part.text });
    });
  }
  return found;
}

/**
 * Follows an identifier to the var or param default it names, within the file, until something that is
 * not an identifier is reached.
 */
export function resolve(file: BicepFile, node: SyntaxNode | null): SyntaxNode | null {
  const seen = new Set<string>();
  let current = node;
  while (current?.type === 'identifier' && !seen.has(current.text)) {
    seen.add(current.text);
    const name = current.text;
    current = declarations(file).find((d) => d.kind !== 'output' && d.name === name)?.value ?? null;
  }
  return current;
}

/**
 * Keys an object expression can have: object literals, identifiers of vars, `union(...)` and both
 * branches of a ternary, as used to assemble app settings.
 */
export function objectKeys(file: BicepFile, node: SyntaxNode | null): { key: string; value: SyntaxNode }[] {
  const target = resolve(file, node);
  if (!target) return [];
  if (target.type === 'object') return entries(target);
  if (target.type === 'parenthesized_expression') return objectKeys(file, target.namedChildren[0]);
  if (target.type === 'ternary_expression')
    return [
      ...objectKeys(file, target.childForFieldName('consequence')),
      ...objectKeys(file, target.childForFieldName('alternative')),
    ];
  if (target.type === 'call_expression' && target.childForFieldName('function')?.text === 'union')
    return (target.childForFieldName('arguments')?.namedChildren ?? []).flatMap((arg) =>
      objectKeys(file, arg),
    );
  return [];
}

/**
 * The text of a string expression (through vars), with each `${name}` replaced by `values[name]`; undefined
 * when it interpolates anything else. Lets a test compare a name built in Bicep with the one the code builds.
 */
export function renderString(
  file: BicepFile,
  node: SyntaxNode | null,
  values: Readonly<Record<string, string>>,
): string | undefined {
  if (node?.type === 'identifier' && node.text in values) return values[node.text];
  const target = resolve(file, node);
  if (target?.type !== 'string') return undefined;
  let text = '';
  for (const part of target.namedChildren) {
    if (part.type === 'interpolation') {
      const name = part.namedChildren[0];
      if (name?.type !== 'identifier' || !(name.text in values)) return undefined;
      text += values[name.text];
    } else text += unescapeBicep(part.text);
  }
  return text;
}

/** Every literal string a value can take: the literal itself, or those of both ternary branches. */
export function possibleStrings(file: BicepFile, node: SyntaxNode | null): (string | undefined)[] {
  const target = resolve(file, node);
  if (!target) return [undefined];
  if (target.type === 'ternary_expression')
    return [
      ...possibleStrings(file, target.childForFieldName('consequence')),
      ...possibleStrings(file, target.childForFieldName('alternative')),
    ];
  if (target.type === 'object') {
    const type = property(target, 'type');
    return type ? possibleStrings(file, type) : [undefined];
  }
  const value = literal(target);
  return [typeof value === 'string' ? value : undefined];
}

/** Calls made anywhere inside a node: plain `f(...)` and member calls `x.f(...)`, by function name. */
export function callsWithin(node: SyntaxNode): { name: string; node: SyntaxNode }[] {
  return descendants(node)
    .filter((n) => n.type === 'call_expression')
    .map((n) => {
      const fn = n.childForFieldName('function');
      const name =
        fn?.type === 'member_expression' ? (fn.childForFieldName('property')?.text ?? '') : (fn?.text ?? '');
      return { name, node: n };
    });
}

/** Property reads anywhere inside a node (`x.properties.ConnectionString` → ConnectionString…), not method calls. */
export function memberNamesWithin(node: SyntaxNode): string[] {
  return descendants(node)
    .filter((n) => n.type === 'member_expression' && n.parent?.childForFieldName('function')?.id !== n.id)
    .map((n) => n.childForFieldName('property')?.text ?? '');
}
