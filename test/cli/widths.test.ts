/** Tables fit the terminal (its width, else COLUMNS, else 80), as wide as needed with --wide; words are never broken. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSummary, type SummaryRow } from '../../cli/dispatch-session';
import { wrapText } from '../../cli/output';
import { FIXTURES_DIR } from '../fixtures';
import { cliIn } from './run-cli';

const SAMPLES = [
  '01-sentinel-incident-xdr-single-host.json',
  '07-azmon-logalert-v2-fired-dimensions.json',
  '11-graph-alert-v2-device-evidence.json',
  '12-graph-alert-v2-no-device-evidence.json',
];

const widest = (text: string) => Math.max(...text.split('\n').map((line) => [...line].length));

describe.each([80, 100, 120])('at %i columns', (columns) => {
  const env: Record<string, string> = columns === 80 ? {} : { COLUMNS: String(columns) };

  it('whatif fits the width', async () => {
    const { code, stdout } = await cliIn(FIXTURES_DIR, {}, { terminal: columns })('whatif', ...SAMPLES);
    expect(code).toBe(0);
    expect(widest(stdout)).toBeLessThanOrEqual(columns);
    // Four rows, however wrapped: the header's rule, three between rows, the bottom.
    expect(stdout.match(/^[├└]/gm)).toHaveLength(5);
    const tsv = await cliIn(FIXTURES_DIR, env)('whatif', '--output', 'tsv', ...SAMPLES);
    expect(tsv.stdout.split('\n')[1].split('\t')[2]).toBe(
      '716240a6127a2375ac877a23ed488ec786b9e4a4 fin-ws-0142.ad.northwind.example',
    );
  });

  it('the run summary fits the width, shortening action ids', () => {
    const row: SummaryRow = {
      device: 'acct-lt-0093.ad.northwind.example',
      asked: 'isolate Full (critical-ransomware)',
      outcome: 'escalated: domain-controllers',
      actionId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
      timeMs: 91_234,
      reason:
        'protected by domain-controllers (tag DomainController); rule critical-ransomware would isolate it, a person must decide',
    };
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, cwd: '.', env };
    const table = renderSummary([row, row], io, { format: 'table', wide: false });
    expect(widest(table)).toBeLessThanOrEqual(columns);
    expect(table).toContain('6f1c2b3a…');
    expect(table).not.toContain('6f1c2b3a-4d5e');
  });
});

it('--wide prints full ids on one line per row, whatever the width', () => {
  const row: SummaryRow = {
    device: 'web1.contoso.local',
    asked: 'isolate Full (manual)',
    outcome: 'succeeded',
    actionId: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    timeMs: 1_200,
    reason: 'x'.repeat(150),
  };
  const io = {
    stdout: { write: () => true },
    stderr: { write: () => true },
    cwd: '.',
    env: { COLUMNS: '80' },
  };
  const table = renderSummary([row], io, { format: 'table', wide: true });
  expect(table).toContain('6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b');
  expect(widest(table)).toBeGreaterThan(150);
  const tsv = renderSummary([row], io, { format: 'tsv', wide: false });
  expect(tsv.split('\n')[1].split('\t')).toEqual([
    'web1.contoso.local',
    'isolate Full (manual)',
    'succeeded',
    '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    '1.2 s',
    'x'.repeat(150),
  ]);
});

it('wraps between words, and cuts a word longer than the line with "…" instead of breaking it', () => {
  expect(wrapText('protected by domain-controllers (tag DomainController)', 20)).toBe(
    'protected by\ndomain-controllers\n(tag\nDomainController)',
  );
  expect(wrapText('id 757ea4ad42a092e12f041c3e4850f3868359e84b on web1', 16)).toBe(
    'id\n757ea4ad42a092e…\non web1',
  );
});

it('whatif evaluates ISOLATION_POLICY and names it, with ISOLATION_MODE applied', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'whatif-env-'));
  try {
    const policy = {
      version: 'env-policy-7',
      mode: 'enforce',
      rules: [
        { name: 'medium-selective', minSeverity: 'medium', action: 'isolate', isolationType: 'Selective' },
      ],
      defaultAction: 'skip',
    };
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
    const cli = cliIn(FIXTURES_DIR, {
      ISOLATION_POLICY: join(dir, 'policy.json'),
      ISOLATION_MODE: 'dry-run',
    });
    const { code, stdout, stderr } = await cli('whatif', '--json', '10-mde-api-alert-medium.json');
    expect(code).toBe(0);
    expect(stderr).toBe(
      `policy env-policy-7 (ISOLATION_POLICY=${join(dir, 'policy.json')}), dry-run; nothing is posted\n`,
    );
    expect(JSON.parse(stdout)[0].decisions[0]).toMatchObject({ rule: 'medium-selective', mode: 'dry-run' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
