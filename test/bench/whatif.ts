/**
 * `whatif --workspace` past the query: recorded SecurityAlert rows (test/support/security-alert-history.ts)
 * read into alerts as the Logs answer is read (`readAlertRows`), then rehearsed under two policies and
 * compared, for 10,000 and 100,000 alerts. Prints each stage's time and the heap after it; the query
 * itself is the service's time and is not measured here.
 */
import type { LogsTable } from '@azure/monitor-query-logs';
import { parseRateLimits } from '../../shared/config';
import { compareRehearsals, rehearse } from '../../shared/dispatch/rehearsal';
import { readAlertRows } from '../../shared/logs/alert-history';
import { loadPolicy } from '../../shared/policy/load';
import { recordedSecurityAlerts } from '../support/security-alert-history';

const DAY_MS = 86_400_000;
const settings = { rateLimits: parseRateLimits('100/60s,1500/1h'), platformLiftMs: 7 * DAY_MS };
const policyOf = (document: Record<string, unknown>) =>
  loadPolicy({ kind: 'inline', text: JSON.stringify(document) }, null);
const STRICT = policyOf({
  version: 'strict-1',
  mode: 'dry-run',
  blastRadius: { maxIsolations: 50, windowMinutes: 60 },
  rules: [
    { name: 'high-isolate', minSeverity: 'high', action: 'isolate', isolationType: 'Full' },
    { name: 'medium-escalate', minSeverity: 'medium', action: 'escalate' },
  ],
});
const BROAD = policyOf({
  version: 'broad-1',
  mode: 'dry-run',
  blastRadius: { maxIsolations: 500, windowMinutes: 60 },
  rules: [{ name: 'broad-medium', minSeverity: 'medium', action: 'isolate', isolationType: 'Selective' }],
});

function timed<T>(label: string, work: () => T): T {
  const started = process.hrtime.bigint();
  const result = work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  process.stdout.write(
    `  ${label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms   heap ${heapMb.toFixed(0)} MB\n`,
  );
  return result;
}

export async function run(): Promise<void> {
  process.stdout.write('whatif --workspace: reading, rehearsing and comparing recorded alerts\n');
  for (const count of [10_000, 100_000]) {
    process.stdout.write(`${count} alerts\n`);
    const { table } = recordedSecurityAlerts({
      end: Date.now(),
      spanMs: 29 * DAY_MS,
      normal: count - 200,
      storm: 200,
    });
    const answer: LogsTable = {
      name: 'PrimaryResult',
      columnDescriptors: table.columns as LogsTable['columnDescriptors'],
      rows: table.rows as LogsTable['rows'],
    };
    const history = timed('rows read into alerts', () => readAlertRows(answer, count));
    const base = timed('rehearsed (strict, breaker 50/h)', () => rehearse(STRICT, history.alerts, settings));
    const other = timed('rehearsed (broad, breaker 500/h)', () => rehearse(BROAD, history.alerts, settings));
    const differences = timed('compared device by device', () => compareRehearsals(base, other));
    process.stdout.write(
      `  ${history.alerts.length} alerts, ${base.devices.length} devices, ${differences.length} differ; openings ${base.breaker.openings}/${other.breaker.openings}\n`,
    );
  }
}
