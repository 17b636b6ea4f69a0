/** What `--help` adds to the options: each verb's examples, and the exit codes every verb shares. */
import type { Command } from 'commander';
import { EXIT } from './context';

/** The exit codes (context.ts EXIT), after every help text; lines fit 80 columns. */
export const EXIT_CODES_HELP = `
Exit codes:
  ${EXIT.ok}    done: the device ends in the asked state, a read answered, a dry run
       decided (the decision is in the output and the JSON)
  ${EXIT.failure}    failed: MDE reported the action failed or timed out, a call failed,
       the sign-in was refused
  ${EXIT.badInput}    bad input: a flag, a file, an id; nothing was started for it
  ${EXIT.notCarriedOut}    not carried out: escalated to a person, refused, not found, ambiguous
  ${EXIT.stillRunning}    still running in MDE when --wait ended (the action ids are printed)
  ${EXIT.interrupted}  interrupted (Ctrl+C) after printing what was posted

Output: a table on a terminal, tab-separated values on a pipe; -o json|tsv|table
chooses, -q FIELDS keeps only some JSON fields.
`;

/** The help section listing `examples` (command lines, without the prompt). */
export function examplesText(examples: string[]): string {
  return `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}`;
}

/** Adds `examples` to a verb's help. */
export function withExamples(command: Command, examples: string[]): Command {
  return command.addHelpText('after', examplesText(examples));
}
