/** The installed command (cli/bin.js) in a checkout that was never built: it says how to build, nothing else. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

it('says "run `npm run build`" when dist/ is missing, with exit code 1', () => {
  const checkout = mkdtempSync(join(tmpdir(), 'mde-isolator-unbuilt-'));
  try {
    mkdirSync(join(checkout, 'cli'));
    copyFileSync(join(__dirname, '..', '..', 'cli', 'bin.js'), join(checkout, 'cli', 'bin.js'));
    const run = spawnSync(process.execPath, [join(checkout, 'cli', 'bin.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`mde-isolator: not built yet: run \`npm run build\` in ${checkout} first\n`);
  } finally {
    rmSync(checkout, { recursive: true, force: true });
  }
});
