/** `status ACTION_ID [--output FORMAT]`: where one MDE machine action stands (e.g. after `run` stopped waiting). */
import type { Command } from 'commander';
import { isMdeApiError } from '../shared/mde/errors';
import { isTerminal, type MachineAction } from '../shared/mde/types';
import { resolveActionId } from './action-id';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import { mdeErrorText } from './mde-error-text';
import {
  formatOf,
  localTime,
  type OutputFlags,
  type OutputFormat,
  tableWidth,
  withOutputOptions,
  wrapText,
  writeJson,
} from './output';
import { openReads } from './read-session';
import { type TenantFlags, tenantOfFlags, withTenantOption } from './tenant-flag';

const FIELDS: (keyof MachineAction)[] = [
  'id',
  'type',
  'scope',
  'status',
  'machineId',
  'computerDnsName',
  'requestor',
  'requestorComment',
  'creationDateTimeUtc',
  'lastUpdateDateTimeUtc',
  'cancellationRequestor',
  'cancellationComment',
  'troubleshootInfo',
];

const LABEL_WIDTH = 22;

/** One line per field: `field<TAB>value` in TSV; in a table the value wraps under itself to fit `width`. */
function fieldLines(action: MachineAction, format: Exclude<OutputFormat, 'json'>, width: number): string {
  const lines: string[] = [];
  for (const field of FIELDS) {
    const value = action[field];
    if (value === undefined || value === null) continue;
    const text = String(value);
    if (format === 'tsv') lines.push(`${field}\t${text.replace(/[\t\r\n]+/g, ' ')}`);
    else {
      const shown =
        field.endsWith('DateTimeUtc') && width !== Number.POSITIVE_INFINITY ? localTime(text) : text;
      const wrapped = wrapText(shown, Math.max(20, width - LABEL_WIDTH - 1)).split('\n');
      lines.push(`${field.padEnd(LABEL_WIDTH)} ${wrapped.join(`\n${' '.repeat(LABEL_WIDTH + 1)}`)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function runStatus(
  actionId: string,
  options: OutputFlags & TenantFlags,
  io: CliIo,
): Promise<number> {
  // No policy or queue needed: one read, still counted against the machineactions quota.
  const tenant = tenantOfFlags('status', io, options);
  if (typeof tenant === 'number') return tenant;
  const runtime = openReads('status', io, false, tenant);
  if (typeof runtime === 'number') return runtime;
  try {
    const resolved = await resolveActionId(actionId, runtime.store.register, runtime.storage);
    if ('error' in resolved) {
      io.stderr.write(`status: ${resolved.error}\n`);
      return EXIT.badInput;
    }
    const action = await runtime.api.getMachineAction(resolved.id);
    const format = formatOf(options, io);
    if (format === 'json') writeJson(io, options, action);
    else io.stdout.write(fieldLines(action, format, tableWidth(io, options.wide)));
    return isTerminal(action.status) && action.status !== 'Succeeded' ? EXIT.failure : EXIT.ok;
  } catch (error) {
    if (!isMdeApiError(error)) throw error;
    io.stderr.write(`status: ${mdeErrorText(error)}\n`);
    return error.kind === 'refused-before-sending' || error.kind === 'not-found'
      ? EXIT.badInput
      : EXIT.failure;
  } finally {
    await runtime.close();
  }
}

export function registerStatus(program: Command, cli: CliContext): void {
  const command = program
    .command('status')
    .description('show an MDE machine action (status, device, comment, times)')
    .argument(
      '<actionId>',
      'MachineAction id as printed (a unique prefix, such as the 8 characters a table shows, will do)',
    );
  withExamples(withOutputOptions(withTenantOption(command)), [
    'mde-isolator status 6f1c2b3a',
    'mde-isolator status 6f1c2b3a -o json -q status,computerDnsName',
  ]).action(async (actionId: string, options: OutputFlags & TenantFlags) => {
    cli.exitWith(await runStatus(actionId, options, cli.io));
  });
}
