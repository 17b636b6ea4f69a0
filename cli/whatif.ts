/**
 * `whatif [--policy FILE] [--output FORMAT] FILE...`: what the policy would decide for saved alert
 * payloads, without calling anything. For tuning a policy against real alerts before enforcing it.
 * The policy is `--policy`, else ISOLATION_POLICY (as the app reads it), else the shipped default;
 * which one and its version is always printed. With `--workspace` instead of files, the policy is
 * rehearsed on a Log Analytics workspace's alert history (whatif-workspace.ts).
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import { lastSegment } from '../shared/kernel/arm-id';
import type { Decision } from '../shared/policy/types';
import { type AlertFromFile, readAlertFiles } from './alert-files';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import {
  type Column,
  endOnBadInput,
  fitLine,
  formatOf,
  type OutputFlags,
  renderTable,
  renderTsv,
  tableWidth,
  withOutputOptions,
  writeJson,
} from './output';
import { readPolicy } from './whatif-policy';
import { DEFAULT_MAX_ALERTS, DEFAULT_SINCE, runWhatifWorkspace } from './whatif-workspace';

export interface WhatifOptions extends OutputFlags {
  policy?: string;
  workspace?: string;
  since?: string;
  maxAlerts?: string;
  compare?: string;
}

interface Evaluated extends AlertFromFile {
  decisions: Decision[];
}

function deviceNames(device: DeviceRef): string[] {
  return [device.mdeDeviceId, device.fqdn ?? device.hostname, device.aadDeviceId].filter(
    (name): name is string => Boolean(name),
  );
}

function decisionText(decision: Decision): string[] {
  const action = decision.action === 'isolate' ? `isolate (${decision.isolationType})` : decision.action;
  return [`${action}${decision.mode === 'dry-run' ? ' [dry-run]' : ''}`, `rule: ${decision.rule}`];
}

/** Azure Monitor ids are ARM paths; their last segment is what tells two alerts apart in a table. */
function shortAlertId(alertId: string): string {
  return alertId.startsWith('/') ? `…/${lastSegment(alertId) ?? ''}` : alertId;
}

const COLUMNS: Column[] = [
  { head: 'File', min: 10 },
  { head: 'Alert', min: 12 },
  { head: 'Device', min: 12 },
  { head: 'Decision', min: 12 },
  { head: 'Reason', min: 15, flex: true },
];

function rowsOf(results: Evaluated[], oneLine: boolean): string[][] {
  const rows: string[][] = [];
  const join = (parts: string[]) => parts.filter(Boolean).join(oneLine ? ' ' : '\n');
  for (const { file, alert, decisions } of results) {
    const common = [
      basename(file),
      join([
        `${alert.source}, ${alert.severity}, ${alert.firing ? 'firing' : 'not firing'}`,
        shortAlertId(alert.alertId),
      ]),
    ];
    if (decisions.length === 0) rows.push([...common, '(no device)', 'nothing to isolate', '']);
    for (const decision of decisions)
      rows.push([
        ...common,
        join(deviceNames(decision.device)),
        join(decisionText(decision)),
        decision.reason,
      ]);
  }
  return rows;
}

/** Exit 0 when every file was read and every item recognized, 2 otherwise (one message per problem). */
export async function runWhatif(files: string[], options: WhatifOptions, io: CliIo): Promise<number> {
  const read = readPolicy(options.policy, io);
  if (typeof read === 'string') {
    io.stderr.write(`whatif: ${read}\n`);
    return EXIT.badInput;
  }
  const { policy, line } = read;
  const format = formatOf(options, io);
  // The data formats keep stdout to the data; a table is read by a person, the line goes above it.
  if (format === 'table') io.stdout.write(fitLine(io, options, line));
  else io.stderr.write(`${line}\n`);
  const { alerts, complete } = readAlertFiles(files, io);
  const results = alerts.map(({ file, alert }) => ({ file, alert, decisions: policy.decideAlert(alert) }));
  if (format === 'json') {
    const output = results.map(({ alert, decisions }) => ({ ...alert, decisions }));
    writeJson(io, options, output);
  } else if (format === 'tsv') {
    io.stdout.write(renderTsv(COLUMNS, rowsOf(results, true)));
  } else if (results.length > 0) {
    io.stdout.write(
      renderTable(COLUMNS, rowsOf(results, false), tableWidth(io, options.wide), options.wide ?? false),
    );
  }
  return complete ? EXIT.ok : EXIT.badInput;
}

/** Files or a workspace, and the workspace's flags only with it; a string says what is wrong. */
function usageProblem(files: string[], options: WhatifOptions): string | null {
  if (options.workspace) return files.length > 0 ? 'give alert files or --workspace, not both' : null;
  const orphan = (['since', 'maxAlerts', 'compare'] as const).find((flag) => options[flag] !== undefined);
  if (orphan)
    return `--${orphan === 'maxAlerts' ? 'max-alerts' : orphan} works with --workspace: the history it rehearses`;
  return files.length === 0
    ? 'give alert payload files, or --workspace ID to rehearse its alert history'
    : null;
}

export function registerWhatif(program: Command, cli: CliContext): void {
  const command = program
    .command('whatif')
    .description(
      'show what the policy would decide for alert files or a workspace history (nothing is isolated)',
    )
    .argument('[files...]', 'alert payload files: any accepted shape, or a JSON array batch')
    .option(
      '--policy <file>',
      'policy file to evaluate (default: ISOLATION_POLICY, else the shipped default)',
    )
    .option('--workspace <id>', "rehearse on this Log Analytics workspace's SecurityAlert history")
    .option('--since <duration>', `how far back the history goes: 30d, 72h (default ${DEFAULT_SINCE})`)
    .option('--max-alerts <n>', `alerts read at most (default ${DEFAULT_MAX_ALERTS})`)
    .option('--compare <file>', 'a second policy file: the devices the two decide differently');
  withExamples(withOutputOptions(command), [
    'mde-isolator whatif alert.json',
    'mde-isolator whatif --policy policy.json alerts/*.json -o tsv',
    'mde-isolator whatif --workspace ID --since 30d --policy new.json',
    'mde-isolator whatif --workspace ID --policy current.json --compare new.json',
  ]).action(async (files: string[], options: WhatifOptions) => {
    const problem = usageProblem(files, options);
    if (problem) return cli.exitWith(endOnBadInput(cli.io, formatOf(options, cli.io), 'whatif', problem));
    cli.exitWith(
      await (options.workspace
        ? runWhatifWorkspace({ ...options, workspace: options.workspace }, cli.io)
        : runWhatif(files, options, cli.io)),
    );
  });
}
