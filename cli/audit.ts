/**
 * `audit [--since 24h] [--device X] [--limit N]`: who isolated what, when, why, and who released it,
 * from the register's history and the action ledger (shared/manual/audit.ts), the same reading as
 * `GET /api/audit`. With AzureWebJobsStorage it is the deployed app's store; without it, this
 * process's own (empty at start).
 */
import type { Command } from 'commander';
import { systemClock } from '../shared/kernel/clock';
import {
  AUDIT_DEFAULT_LIMIT,
  AUDIT_DEFAULT_SINCE,
  type AuditEvent,
  isAuditProblem,
  parseAuditQuery,
  readAuditTrail,
} from '../shared/manual/audit';
import { LIST_MAX } from '../shared/state/store';
import { type CliContext, type CliIo, EXIT } from './context';
import {
  type Column,
  endOnBadInput,
  endOnStoreError,
  formatOf,
  type OutputFlags,
  ROW_FORMATS,
  rowsText,
  withOutputOptions,
  writeJson,
} from './output';
import { openReads } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface AuditOptions extends OutputFlags, TenantFlags {
  since?: string;
  device?: string;
  limit?: string;
}

const COLUMNS: Column[] = [
  { head: 'When', min: 10, kind: 'time' },
  { head: 'Device', min: 10 },
  { head: 'State', min: 8 },
  { head: 'By', min: 8 },
  { head: 'Reason', min: 12, flex: true },
];

/** Who is on record for the step: the request's rule or caller, else who posted the action in MDE. */
function byText(event: AuditEvent): string {
  if (event.requestedBy) return `${event.requestedBy.name} (${event.requestedBy.kind})`;
  return event.postedBy ? `${event.postedBy} (MDE)` : '-';
}

function rowOf(event: AuditEvent): string[] {
  return [event.at, event.computerDnsName ?? event.machineId, event.state, byText(event), event.reason];
}

/** Exit 0 with the trail (none is an answer too), 2 on a bad flag or setting, 1 when the store failed. */
export async function runAudit(options: AuditOptions, io: CliIo, clock = systemClock): Promise<number> {
  const format = formatOf(options, io);
  const tenant = tenantOfFlags('audit', io, options);
  if (typeof tenant === 'number') return tenant;
  const runtime = openReads('audit', io, true, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const query = parseAuditQuery(options, runtime.config.registerHistoryDays);
    if (isAuditProblem(query)) return endOnBadInput(io, format, 'audit', `--${query.path}: ${query.message}`);
    const trail = await readAuditTrail(runtime.store, query, clock.now());
    if (format === 'json') writeJson(io, options, trail);
    else
      io.stdout.write(
        rowsText(
          io,
          options,
          format,
          COLUMNS,
          trail.events.map((e) => rowOf(e)),
          `nothing in the register since ${trail.since}`,
        ),
      );
    if (trail.truncated)
      io.stderr.write(
        `audit: more happened than shown; narrow with --since or --device, or raise --limit (at most ${LIST_MAX})\n`,
      );
    return EXIT.ok;
  } catch (error) {
    return endOnStoreError(io, format, 'audit', error);
  } finally {
    await runtime.close();
  }
}

export function registerAudit(program: Command, cli: CliContext): void {
  const command = program
    .command('audit')
    .description('who isolated what, when, why, and who released it, from the register and the ledger')
    .option('--since <duration>', `how far back: 30m, 24h, 7d (default ${AUDIT_DEFAULT_SINCE})`)
    .option('--device <id-or-name>', 'one device: its machine id or its full name')
    .option(
      '--limit <n>',
      `events at most, newest first (default ${AUDIT_DEFAULT_LIMIT}, at most ${LIST_MAX})`,
    );
  withOutputOptions(withTenantOption(command), ROW_FORMATS).action(async (options: AuditOptions) => {
    cli.exitWith(await runAudit(options, cli.io));
  });
}
