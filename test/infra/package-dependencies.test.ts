import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { readImportGraph } from '../architecture/import-graph';

/**
 * The deployment package holds package.json's `dependencies` and nothing else (scripts/stage-package.sh
 * installs with --omit=dev --omit=optional). So `dependencies` must be exactly what the functions load (every
 * package reachable from functions/*.ts, type-only imports aside) plus the deliberate runtime dependencies
 * below; the CLI's own packages are optionalDependencies, installed with the repository but left out of the
 * package. publish.test.ts checks the staged folder itself.
 */

/**
 * Runtime dependencies the functions need without importing them, each with its reason (for example files
 * served as they are). The one place to list them.
 */
const DELIBERATE_RUNTIME_DEPENDENCIES: Readonly<Record<string, string>> = {
  'swagger-ui-dist': 'functions/docs.ts serves its script and style files as they are (read, not imported)',
};

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(packageOf(spec));

/** Packages the given entry files load at run time, following relative imports through the tree. */
function packagesLoadedFrom(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const edge of readImportGraph(ROOT, [file])) {
      // Relative imports are resolved to repository paths: .ts files to follow, .json files to skip.
      if (edge.typeOnly || edge.to.startsWith('unresolved:') || edge.to.endsWith('.json')) continue;
      if (edge.to.endsWith('.ts')) queue.push(edge.to);
      else if (!isBuiltin(edge.to)) packages.add(packageOf(edge.to));
    }
  }
  return packages;
}

const tracked = (folder: string) =>
  execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', folder], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((file) => file.endsWith('.ts'));

const functionsLoad = packagesLoadedFrom(tracked('functions'));
const cliLoads = packagesLoadedFrom(tracked('cli'));

describe('the deployment package dependencies', () => {
  it('are exactly what the functions load, plus the deliberate runtime ones', () => {
    expect(functionsLoad.size).toBeGreaterThan(5);
    expect(Object.keys(pkg.dependencies).sort()).toEqual(
      [...new Set([...functionsLoad, ...Object.keys(DELIBERATE_RUNTIME_DEPENDENCIES)])].sort(),
    );
  });

  it("keep the CLI's own packages out, as optionalDependencies every install of the repository still gets", () => {
    const cliOnly = [...cliLoads].filter((name) => !functionsLoad.has(name)).sort();
    expect(cliOnly).toEqual(expect.arrayContaining(['cli-progress', 'cli-table3', 'commander']));
    expect(Object.keys(pkg.optionalDependencies).sort()).toEqual(cliOnly);
  });
});
