import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `npm run publish:azure`'s script for real, with a stand-in `func` first on PATH that records where
 * and how Core Tools was called. The package is staged into a temporary folder (PACKAGE_DIR), then loaded
 * with this Node to show that the production dependencies alone run the functions.
 */
const repoRoot = join(__dirname, '..', '..');
const script = join(repoRoot, 'scripts', 'publish-azure.sh');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

const fakeFunc = `#!/usr/bin/env bash
{ echo "cwd=$PWD"; echo "args=$*"; } > "$FUNC_LOG"
`;

function bytesUnder(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + bytesUnder(join(path, name)), 0);
}

function filesUnder(path: string): string[] {
  return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(path, e.name)).map((f) => `${e.name}/${f}`) : [e.name],
  );
}

function publish(args: string[], dir: string) {
  const log = join(dir, 'func.log');
  const result = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      FUNC_LOG: log,
      PACKAGE_DIR: join(dir, 'package'),
    },
  });
  return { ...result, funcCall: existsSync(log) ? readFileSync(log, 'utf8') : '' };
}

describe('root .funcignore', () => {
  it('anchors every folder it leaves out, so a dependency folder of the same name (cli, test) stays', () => {
    const patterns = readFileSync(join(repoRoot, '.funcignore'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(patterns).toEqual(expect.arrayContaining(['/cli', '/test', '/.deploy']));
    expect(patterns.filter((p) => !p.startsWith('/') && !p.startsWith('*.'))).toEqual([]);
  });
});

describe('npm run publish:azure', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'publish-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'func'), fakeFunc);
    chmodSync(join(bin, 'func'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a missing or malformed app name before building anything', () => {
    for (const args of [[], ['--node'], ['app;rm -rf /']]) {
      const { status, stderr, funcCall } = publish(args, dir);
      expect(status).toBe(2);
      expect(stderr).toContain('usage: npm run publish:azure -- <function-app-name>');
      expect(funcCall).toBe('');
    }
    expect(existsSync(join(dir, 'package'))).toBe(false);
  });

  describe('with an app name', () => {
    let result: ReturnType<typeof publish>;
    const staged = () => join(dir, 'package');
    beforeAll(() => {
      result = publish(['func-mdeiso-soc-abc', '--slot', 'staging'], dir);
    }, 240_000);

    it('publishes the staged folder with the runtime named, passing options through', () => {
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.funcCall).toBe(
        `cwd=${staged()}\nargs=azure functionapp publish func-mdeiso-soc-abc --node --slot staging\n`,
      );
    });

    it('stages the compiled functions and host.json, without tools, tests, sources or maps', () => {
      const files = filesUnder(staged()).filter((f) => !f.startsWith('node_modules/'));
      expect(files).toEqual(
        expect.arrayContaining([
          'host.json',
          'package.json',
          'package-lock.json',
          'dist/functions/alerts.js',
          'dist/functions/health.js',
          'dist/functions/worker.js',
          'dist/shared/policy/default-policy.json',
        ]),
      );
      expect(
        files.filter((f) => /^dist\/(cli|simulator|test)\/|\.ts$|\.map$|^local\.settings/.test(f)),
      ).toEqual([]);
      const stagedPkg = JSON.parse(readFileSync(join(staged(), 'package.json'), 'utf8'));
      expect(stagedPkg.scripts).toBeUndefined();
      expect(stagedPkg.main).toBe(pkg.main);
    });

    it('holds the production dependencies and no development tool', () => {
      const modules = join(staged(), 'node_modules');
      for (const name of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, name))).toBe(true);
      for (const tool of ['typescript', 'jest', 'ts-jest', '@biomejs/biome', 'tree-sitter', 'fast-check'])
        expect(existsSync(join(modules, tool))).toBe(false);
      // The CLI's own packages (package-dependencies.test.ts keeps them optionalDependencies).
      for (const cliOnly of Object.keys(pkg.optionalDependencies))
        expect(existsSync(join(modules, cliOnly))).toBe(false);
      // Nothing loads source maps, TypeScript sources or declarations at run time.
      expect(filesUnder(modules).filter((f) => /\.(map|ts|mts|cts)$/.test(f))).toEqual([]);
      // The repository's node_modules holds the devDependencies too: the package is a fraction of it.
      expect(bytesUnder(staged())).toBeLessThan(bytesUnder(join(repoRoot, 'node_modules')) / 2);
    });

    it('runs the functions from the package alone', () => {
      for (const entry of ['alerts', 'health', 'worker']) {
        const load = spawnSync(process.execPath, ['-e', `require('./dist/functions/${entry}.js')`], {
          cwd: staged(),
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '' },
        });
        expect(load.stderr).not.toMatch(/Cannot find module|Error:/);
        expect(load.status).toBe(0);
      }
    });

    it('keeps the two files the API reference page serves, and none of the other Swagger UI bundles', () => {
      const serve = spawnSync(
        process.execPath,
        [
          '-e',
          "for (const f of ['swagger-ui-bundle.js', 'swagger-ui.css']) require.resolve('swagger-ui-dist/' + f)",
        ],
        { cwd: staged(), encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
      );
      expect(serve.stderr).toBe('');
      expect(existsSync(join(staged(), 'node_modules', 'swagger-ui-dist', 'swagger-ui-es-bundle.js'))).toBe(
        false,
      );
    });
  });
});
