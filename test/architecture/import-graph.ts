/**
 * The import graph of the product tree and the rules it must keep (docs/architecture.md §3.2).
 * Pure: `checkImports` takes a graph and a rule set, so the rules can be shown to fail on a small
 * fake graph as well as pass on the real one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** Repository-relative path of the importing file. */
  from: string;
  /** Repository-relative path of the imported file, or the package name of a bare specifier. */
  to: string;
  /** `import type …`, or every named binding marked `type`: erased at compile time. */
  typeOnly: boolean;
}

export interface Layer {
  name: string;
  /** Path prefixes (a folder ends with '/') or exact file paths. */
  members: readonly string[];
}

export interface ImportRules {
  /** Low to high. A module imports only from its own layer's member or a lower layer. */
  layers: readonly Layer[];
  /** Prefixes no product module may import from. */
  forbidden: readonly string[];
  /** Package → the files (or prefixes) allowed to import it; `allowTypes` also admits type-only imports anywhere. */
  adapters: Readonly<Record<string, { files: readonly string[]; allowTypes?: boolean }>>;
  /** Edges that break a rule on purpose, each with its reason: `${from} -> ${to}`. */
  exceptions: Readonly<Record<string, string>>;
}

const matches = (path: string, member: string) =>
  member.endsWith('/') ? path.startsWith(member) : path === member;

/**
 * The layer a path belongs to, and the member that placed it there (its "room"). The longest
 * matching member wins, so a file named on its own (simulator/demo.ts) overrides its folder.
 */
export function placeOf(rules: ImportRules, path: string): { rank: number; room: string } | null {
  let best: { rank: number; room: string } | null = null;
  for (const [rank, layer] of rules.layers.entries()) {
    for (const member of layer.members) {
      if (matches(path, member) && (!best || member.length > best.room.length)) best = { rank, room: member };
    }
  }
  return best;
}

const packageName = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);

/** Every rule an edge breaks, as one line each; empty when the graph keeps them all. */
export function checkImports(
  files: readonly string[],
  edges: readonly ImportEdge[],
  rules: ImportRules,
): string[] {
  const problems: string[] = [];
  for (const file of files) {
    if (!placeOf(rules, file)) problems.push(`${file}: in no layer; add it to one`);
  }
  for (const edge of edges) {
    if (rules.exceptions[`${edge.from} -> ${edge.to}`]) continue;
    const forbidden = rules.forbidden.find((prefix) => edge.to.startsWith(prefix));
    if (forbidden) {
      problems.push(`${edge.from} -> ${edge.to}: nothing imports from ${forbidden}`);
      continue;
    }
    if (edge.to.startsWith('unresolved:')) {
      problems.push(
        `${edge.from} -> ${edge.to.slice('unresolved:'.length)}: relative import that resolves to no file`,
      );
      continue;
    }
    if (!files.includes(edge.to)) {
      const adapter = rules.adapters[packageName(edge.to)];
      if (!adapter || (edge.typeOnly && adapter.allowTypes)) continue;
      if (!adapter.files.some((member) => matches(edge.from, member))) {
        problems.push(
          `${edge.from} -> ${edge.to}: only ${adapter.files.join(', ')} may import ${packageName(edge.to)}`,
        );
      }
      continue;
    }
    const from = placeOf(rules, edge.from);
    const to = placeOf(rules, edge.to);
    if (!from || !to) continue; // reported above
    if (from.room === to.room) continue;
    if (to.rank >= from.rank) {
      const where = to.rank === from.rank ? 'a sibling in its layer' : 'a layer above it';
      problems.push(
        `${edge.from} -> ${edge.to}: ${rules.layers[from.rank]?.name} imports ${where} (${rules.layers[to.rank]?.name})`,
      );
    }
  }
  return problems;
}

function isTypeOnlyImport(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false; // a side-effect import runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    !!bindings &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

/** The module specifiers a source text imports: static imports and re-exports, `import()`, `require()`. */
export function importsOf(source: string): { spec: string; typeOnly: boolean }[] {
  const file = ts.createSourceFile('module.ts', source, ts.ScriptTarget.ES2022, true);
  const found: { spec: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier))
        found.push({ spec: node.moduleSpecifier.text, typeOnly: isTypeOnlyImport(node) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push({ spec: expression.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node)) {
      const [argument] = node.arguments;
      const dynamic = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const required = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((dynamic || required) && argument && ts.isStringLiteralLike(argument))
        found.push({ spec: argument.text, typeOnly: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push({ spec: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Resolves a relative specifier the way `moduleResolution: node` does for this tree. */
function resolve(root: string, from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const base = normalize(join(dirname(from), spec));
  // `base` itself only for a file named with its extension (package.json); a bare folder is no module.
  const candidates = [`${base}.ts`, join(base, 'index.ts'), ...(/\.[a-z]+$/.test(base) ? [base] : [])];
  const found = candidates.find((candidate) => existsSync(join(root, candidate)));
  if (found) return found;
  return `unresolved:${base}`;
}

export function readImportGraph(root: string, files: readonly string[]): ImportEdge[] {
  return files.flatMap((from) =>
    importsOf(readFileSync(join(root, from), 'utf8')).map(({ spec, typeOnly }) => ({
      from,
      to: resolve(root, from, spec),
      typeOnly,
    })),
  );
}
