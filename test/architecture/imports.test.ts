import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { checkImports, type ImportRules, importsOf, readImportGraph } from './import-graph';
import { PRODUCT_FOLDERS, RULES } from './layers';

const ROOT = join(__dirname, '..', '..');

describe('the import rules of docs/architecture.md §3.2 hold for the product tree', () => {
  it('no module imports upward, from test/, or an SDK outside its adapter', () => {
    const files = execFileSync(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard', ...PRODUCT_FOLDERS],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter((file) => file.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(50);
    const edges = readImportGraph(ROOT, files);
    expect(checkImports(files, edges, RULES)).toEqual([]);
  });

  it('every exception still names an edge that exists, so none outlives its reason', () => {
    const files = PRODUCT_FOLDERS.flatMap((folder) =>
      execFileSync('git', ['ls-files', folder], { cwd: ROOT, encoding: 'utf8' }).split('\n'),
    ).filter((file) => file.endsWith('.ts'));
    const edges = new Set(readImportGraph(ROOT, files).map((edge) => `${edge.from} -> ${edge.to}`));
    for (const exception of Object.keys(RULES.exceptions)) expect(edges).toContain(exception);
  });
});

describe('the checker fails on each kind of violation (a small fake graph)', () => {
  const rules: ImportRules = {
    layers: [
      { name: 'low', members: ['shared/low/'] },
      { name: 'middle', members: ['shared/a/', 'shared/b/'] },
      { name: 'high', members: ['cli/'] },
      { name: 'top', members: ['cli/top.ts'] },
    ],
    forbidden: ['test/'],
    adapters: {
      sdk: { files: ['shared/low/adapter.ts'] },
      typed: { files: ['shared/low/adapter.ts'], allowTypes: true },
    },
    exceptions: { 'shared/b/x.ts -> shared/a/x.ts': 'on purpose' },
  };
  const files = [
    'shared/low/x.ts',
    'shared/low/adapter.ts',
    'shared/a/x.ts',
    'shared/b/x.ts',
    'cli/main.ts',
    'cli/top.ts',
  ];
  const edge = (from: string, to: string, typeOnly = false) => ({ from, to, typeOnly });
  const check = (...edges: ReturnType<typeof edge>[]) => checkImports(files, edges, rules);

  it('accepts imports downward, inside a room, and an SDK from its adapter', () => {
    expect(
      check(
        edge('cli/main.ts', 'shared/a/x.ts'),
        edge('shared/a/x.ts', 'shared/low/x.ts'),
        edge('shared/low/x.ts', 'shared/low/adapter.ts'),
        edge('shared/low/adapter.ts', 'sdk'),
        edge('cli/top.ts', 'cli/main.ts'),
        edge('shared/a/x.ts', 'typed', true),
        edge('shared/a/x.ts', 'node:fs'),
      ),
    ).toEqual([]);
  });

  it('refuses an import from a layer above', () => {
    expect(check(edge('shared/low/x.ts', 'shared/a/x.ts'))).toEqual([
      'shared/low/x.ts -> shared/a/x.ts: low imports a layer above it (middle)',
    ]);
  });

  it('refuses an import between sibling rooms of one layer, unless it is a listed exception', () => {
    expect(check(edge('shared/a/x.ts', 'shared/b/x.ts'))).toEqual([
      'shared/a/x.ts -> shared/b/x.ts: middle imports a sibling in its layer (middle)',
    ]);
    expect(check(edge('shared/b/x.ts', 'shared/a/x.ts'))).toEqual([]);
  });

  it('places a file named on its own above its folder', () => {
    expect(check(edge('cli/main.ts', 'cli/top.ts'))).toEqual([
      'cli/main.ts -> cli/top.ts: high imports a layer above it (top)',
    ]);
  });

  it('refuses any import from test/', () => {
    expect(check(edge('cli/main.ts', 'test/fixtures/index.ts'))).toEqual([
      'cli/main.ts -> test/fixtures/index.ts: nothing imports from test/',
    ]);
  });

  it('refuses an SDK outside its adapter, by package name, types included unless allowed', () => {
    expect(
      check(
        edge('shared/a/x.ts', 'sdk/sub/path'),
        edge('shared/a/x.ts', 'sdk', true),
        edge('shared/a/x.ts', 'typed'),
      ),
    ).toEqual([
      'shared/a/x.ts -> sdk/sub/path: only shared/low/adapter.ts may import sdk',
      'shared/a/x.ts -> sdk: only shared/low/adapter.ts may import sdk',
      'shared/a/x.ts -> typed: only shared/low/adapter.ts may import typed',
    ]);
  });

  it('refuses a file in no layer and a relative import that resolves to nothing', () => {
    expect(
      checkImports([...files, 'shared/new.ts'], [edge('cli/main.ts', 'unresolved:shared/gone')], rules),
    ).toEqual([
      'shared/new.ts: in no layer; add it to one',
      'cli/main.ts -> shared/gone: relative import that resolves to no file',
    ]);
  });

  it('reads static, re-exported, dynamic and required specifiers, and tells type-only ones', () => {
    const source = [
      "import a from 'a';",
      "import type { B } from 'b';",
      "import { type C } from 'c';",
      "import { type D, d } from 'd';",
      "import 'e';",
      "export { f } from 'f';",
      "export type { G } from 'g';",
      "const h = require('h');",
      "void import('i');",
      "type J = import('j').J;",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { spec: 'a', typeOnly: false },
      { spec: 'b', typeOnly: true },
      { spec: 'c', typeOnly: true },
      { spec: 'd', typeOnly: false },
      { spec: 'e', typeOnly: false },
      { spec: 'f', typeOnly: false },
      { spec: 'g', typeOnly: true },
      { spec: 'h', typeOnly: false },
      { spec: 'i', typeOnly: false },
      { spec: 'j', typeOnly: true },
    ]);
  });
});
