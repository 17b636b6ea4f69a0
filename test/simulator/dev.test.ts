/** npm run dev: its settings file, written from the running simulator and never overwritten. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startSimulator } from '../../simulator';
import { DEV_IDENTITY_HEADER, devSettings, onPath, placeSettings } from '../../simulator/dev';

const ROOT = join(__dirname, '..', '..');
const sample = JSON.parse(readFileSync(join(ROOT, 'local.settings.sample.json'), 'utf8'));

describe('npm run dev', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dev-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes local.settings.json from the running simulator when there is none: the sample's values", async () => {
    const simulator = await startSimulator({ identityHeader: DEV_IDENTITY_HEADER });
    try {
      const file = join(dir, 'local.settings.json');
      expect(placeSettings(file, devSettings(sample, simulator.env()))).toEqual({ written: true });
      const { Values } = JSON.parse(readFileSync(file, 'utf8'));
      expect(Values).toMatchObject({
        MDE_API_URL: simulator.baseUrl,
        IDENTITY_ENDPOINT: simulator.identityEndpoint,
        IDENTITY_HEADER: DEV_IDENTITY_HEADER,
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        ISOLATION_MODE: 'dry-run',
      });
      // The header works: the identity endpoint issues a token for it.
      const token = await fetch(
        `${simulator.identityEndpoint}?api-version=2019-08-01&resource=https://api.securitycenter.microsoft.com`,
        {
          headers: { 'X-IDENTITY-HEADER': Values.IDENTITY_HEADER },
        },
      );
      expect(token.status).toBe(200);
    } finally {
      await simulator.close();
    }
  });

  it("keeps a user's file as it is, naming the settings that do not point at the loop", () => {
    const file = join(dir, 'local.settings.json');
    const mine = JSON.stringify({
      IsEncrypted: false,
      Values: { ...sample.Values, MDE_API_URL: 'https://api.securitycenter.microsoft.com' },
    });
    writeFileSync(file, mine);
    const loop = devSettings(sample, { MDE_API_URL: 'http://127.0.0.1:4010' });
    expect(placeSettings(file, loop)).toEqual({ written: false, differs: ['MDE_API_URL'] });
    expect(readFileSync(file, 'utf8')).toBe(mine);
    writeFileSync(file, 'not json');
    expect(placeSettings(file, loop)).toEqual({
      written: false,
      differs: ['MDE_API_URL', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AzureWebJobsStorage'],
    });
  });

  it('the sample points at the simulator npm run dev starts', () => {
    expect(devSettings(sample, {}).Values).toEqual(sample.Values);
    expect(sample.Values).toMatchObject({
      MDE_API_URL: 'http://127.0.0.1:4010',
      IDENTITY_ENDPOINT: 'http://127.0.0.1:4010/msi/token',
      IDENTITY_HEADER: DEV_IDENTITY_HEADER,
    });
  });

  it('finds an executable on PATH, and nothing on an empty one', () => {
    expect(onPath('node', dirname(process.execPath))).toBe(true);
    expect(onPath('func', dir)).toBe(false);
  });
});

describe('npm start without Core Tools', () => {
  it('says in one line how to install them, and exits 1', () => {
    // A PATH with node and npm but no func.
    const run = spawnSync('npm', ['run', '--silent', 'prestart'], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    expect(onPath('func', `${dirname(process.execPath)}:/usr/bin:/bin`)).toBe(false);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')[0]).toBe(
      'npm start runs Azure Functions Core Tools 4, which is not installed: npm install -g azure-functions-core-tools@4, or use npm run dev, which needs none',
    );
  });
});
