/**
 * `whatif [--policy FILE] [--json] FILE...`: what the policy would decide for saved alert payloads,
 * without calling anything. For tuning a policy against real alerts before enforcing it.
 */
import { basename } from 'node:path';
import Table from 'cli-table3';
import type { Command } from 'commander';
import type { DeviceRef } from '../shared/alerts/model';
import { lastSegment } from '../shared/kernel/arm-id';
import { errorMessage } from '../shared/kernel/errors';
import { loadPolicy } from '../shared/policy/load';
import type { Decision, IsolationPolicy } from '../shared/policy/types';
import { type AlertFromFile, readAlertFiles } from './alert-files';
import { type CliContext, type CliIo, EXIT } from './context';
import { loadPolicyFile } from './policy-file';

export interface WhatifOptions {
  policy?: string;
  json?: boolean;
}

interface Evaluated extends AlertFromFile {
  decisions: Decision[];
}

function readPolicy(path: string | undefined, io: CliIo): IsolationPolicy {
  return path ? loadPolicyFile(io, path, null) : loadPolicy({ kind: 'default' }, null);
}

function deviceText(device: DeviceRef): string {
  const names = [device.mdeDeviceId, device.fqdn ?? device.hostname, device.aadDeviceId];
  return names.filter(Boolean).join('\n');
}

function decisionText(decision: Decision): string {
  const action = decision.action === 'isolate' ? `isolate (${decision.isolationType})` : decision.action;
  return `${action}${decision.mode === 'dry-run' ? ' [dry-run]' : ''}\nrule: ${decision.rule}`;
}

/** Azure Monitor ids are ARM paths; their last segment is what tells two alerts apart in a table. */
function shortAlertId(alertId: string): string {
  return alertId.startsWith('/') ? `…/${lastSegment(alertId) ?? ''}` : alertId;
}

function renderTable(results: Evaluated[]): string {
  const table = new Table({
    head: ['File', 'Source', 'Alert', 'Severity', 'Firing', 'Device', 'Decision', 'Reason'],
    colWidths: [null, null, 42, null, null, 42, 34, 46],
    wordWrap: true,
    style: { head: [], border: [] },
  });
  for (const { file, alert, decisions } of results) {
    const common = [
      basename(file),
      alert.source,
      shortAlertId(alert.alertId),
      alert.severity,
      alert.firing ? 'yes' : 'no',
    ];
    if (decisions.length === 0) table.push([...common, '(no device)', 'nothing to isolate', '']);
    for (const decision of decisions)
      table.push([...common, deviceText(decision.device), decisionText(decision), decision.reason]);
  }
  return `${table.toString()}\n`;
}

/** Exit 0 when every file was read and every item recognized, 2 otherwise (one message per problem). */
export async function runWhatif(files: string[], options: WhatifOptions, io: CliIo): Promise<number> {
  let policy: IsolationPolicy;
  try {
    policy = readPolicy(options.policy, io);
  } catch (error) {
    io.stderr.write(`whatif: ${errorMessage(error)}\n`);
    return EXIT.badInput;
  }
  const { alerts, complete } = readAlertFiles(files, io);
  const results = alerts.map(({ file, alert }) => ({ file, alert, decisions: policy.decideAlert(alert) }));
  if (options.json) {
    const output = results.map(({ alert, decisions }) => ({ ...alert, decisions }));
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else if (results.length > 0) {
    io.stdout.write(renderTable(results));
  }
  return complete ? EXIT.ok : EXIT.badInput;
}

export function registerWhatif(program: Command, cli: CliContext): void {
  program
    .command('whatif')
    .description('show what the policy would decide for alert payload files (nothing is isolated)')
    .argument('<files...>', 'alert payload files: any accepted shape, or a JSON array batch')
    .option('--policy <file>', 'policy file to evaluate (default: the shipped default policy)')
    .option('--json', 'print one JSON array of normalized alerts, each with its decisions')
    .action(async (files: string[], options: WhatifOptions) => {
      cli.exitWith(await runWhatif(files, options, cli.io));
    });
}
