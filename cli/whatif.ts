/**
 * `whatif [--policy FILE] [--output FORMAT] FILE...`: what the policy would decide for saved alert
 * payloads, without calling anything. For tuning a policy against real alerts before enforcing it.
 * The policy is `--policy`, else ISOLATION_POLICY (as the app reads it), else the shipped default;
 * which one and its version is always printed.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import { ConfigError, loadConfig } from '../shared/config';
import { lastSegment } from '../shared/kernel/arm-id';
import { errorMessage } from '../shared/kernel/errors';
import { loadPolicy } from '../shared/policy/load';
import type { Decision, IsolationPolicy } from '../shared/policy/types';
import { type AlertFromFile, readAlertFiles } from './alert-files';
import { type CliContext, type CliIo, EXIT } from './context';
import { withExamples } from './help';
import { modeWord, policyOrigin } from './mode';
import {
  type Column,
  fitLine,
  formatOf,
  type OutputFlags,
  renderTable,
  renderTsv,
  tableWidth,
  withOutputOptions,
  writeJson,
} from './output';
import { loadPolicyFile } from './policy-file';

export interface WhatifOptions extends OutputFlags {
  policy?: string;
}

interface Evaluated extends AlertFromFile {
  decisions: Decision[];
}

/** The policy to evaluate and where it came from; ISOLATION_MODE applies as it does in the app. */
function readPolicy(path: string | undefined, io: CliIo): { policy: IsolationPolicy; origin: string } {
  const config = loadConfig(io.env);
  const policy = path
    ? loadPolicyFile(io, path, config.modeOverride)
    : loadPolicy(config.policySource, config.modeOverride);
  return { policy, origin: policyOrigin(path, config.policySource) };
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
  let read: { policy: IsolationPolicy; origin: string };
  try {
    read = readPolicy(options.policy, io);
  } catch (error) {
    io.stderr.write(`whatif: ${error instanceof ConfigError ? error.message : errorMessage(error)}\n`);
    return EXIT.badInput;
  }
  const { policy, origin } = read;
  const format = formatOf(options, io);
  const policyLine = `policy ${policy.version} (${origin}), ${modeWord(policy.mode)}; nothing is posted\n`;
  // The data formats keep stdout to the data; a table is read by a person, the line goes above it.
  if (format === 'table') io.stdout.write(fitLine(io, options, policyLine.trimEnd()));
  else io.stderr.write(policyLine);
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

export function registerWhatif(program: Command, cli: CliContext): void {
  const command = program
    .command('whatif')
    .description('show what the policy would decide for alert payload files (nothing is isolated)')
    .argument('<files...>', 'alert payload files: any accepted shape, or a JSON array batch')
    .option(
      '--policy <file>',
      'policy file to evaluate (default: ISOLATION_POLICY, else the shipped default)',
    );
  withExamples(withOutputOptions(command), [
    'mde-isolator whatif alert.json',
    'mde-isolator whatif --policy policy.json alerts/*.json -o tsv',
  ]).action(async (files: string[], options: WhatifOptions) => {
    cli.exitWith(await runWhatif(files, options, cli.io));
  });
}
