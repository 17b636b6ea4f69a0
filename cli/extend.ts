/**
 * `extend MACHINE_ID --for 4h --reason TEXT`: pushes the end of this app's time-boxed isolation in
 * force later, never past MDE's lift; the rules are shared/manual/extend.ts's, which
 * `POST /api/isolations/{machineId}/extend` follows too. The register records who and why.
 */
import type { Command } from 'commander';
import { DURATION_FORM, parseDuration } from '../shared/kernel/duration';
import { extendIsolation } from '../shared/manual/extend';
import { isMdeApiError } from '../shared/mde/errors';
import { StoreUnavailableError } from '../shared/state/store';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import { formatOf, type OutputFlags, withOutputOptions, writeJson } from './output';
import { openReads, operatorName } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

export interface ExtendOptions extends OutputFlags, TenantFlags {
  for?: string;
  reason?: string;
  by?: string;
}

/** Exit 0 once extended; 3 when refused (nothing of this app's in force, past the lift); 2 on bad input; 1 when a call failed. */
export async function runExtend(machineId: string, options: ExtendOptions, io: CliIo): Promise<number> {
  const byMs = parseDuration(options.for?.trim() ?? '');
  if (byMs === null) {
    io.stderr.write(`extend: --for must be ${DURATION_FORM}\n`);
    return EXIT.badInput;
  }
  const reason = options.reason?.trim();
  if (!reason) {
    io.stderr.write("extend: --reason is required; it goes into the register's history\n");
    return EXIT.badInput;
  }
  const tenant = tenantOfFlags('extend', io, options);
  if (typeof tenant === 'number') return tenant;
  const runtime = openReads('extend', io, true, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const result = await extendIsolation(
      runtime,
      { machineId: machineId.trim(), byMs, reason, by: operatorName(io, options.by) },
      { now: Date.now(), platformLiftMs: runtime.config.platformLiftMs },
    );
    if (result.kind === 'refused') {
      const { answer } = result;
      const error = answer.body.error as { message: string };
      io.stderr.write(`extend: ${error.message}\n`);
      return answer.status === 400 ? EXIT.badInput : EXIT.notCarriedOut;
    }
    if (formatOf(options, io) === 'json') writeJson(io, options, result);
    else
      io.stdout.write(
        `${result.record.computerDnsName ?? result.record.machineId}: isolated until ${result.expiresAt}\n`,
      );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      io.stderr.write('extend: the state store cannot be reached; nothing was changed: try again shortly\n');
      return EXIT.failure;
    }
    if (!isMdeApiError(error)) throw error;
    io.stderr.write(`extend: ${error.message}; nothing was changed\n`);
    return EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerExtend(program: Command, cli: CliContext): void {
  const command = program
    .command('extend')
    .description("push the end of this app's time-boxed isolation later (never past MDE's lift)")
    .argument('<machineId>', 'MDE device id (40 hex characters)')
    .option('--for <duration>', 'how much later: 30m, 8h, 2d (required)')
    .option('--reason <text>', "why: recorded in the register's history (required)")
    .option('--by <name>', 'who asks (default: the login name)');
  withExamples(command, ['mde-isolator extend "$MACHINE" --for 4h --reason "IR-12: still imaging"']);
  withOutputOptions(withTenantOption(command)).action(async (machineId: string, options: ExtendOptions) => {
    cli.exitWith(await runExtend(machineId, options, cli.io));
  });
}
