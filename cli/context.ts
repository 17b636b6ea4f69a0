/** What every CLI verb gets: its output streams and environment, so verbs run in-process in tests. */
import type { Command } from 'commander';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Relative file arguments are resolved against this. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the operator interrupts (Ctrl+C): a dispatching verb stops waiting and reports what it posted. */
  interrupt?: AbortSignal;
  /**
   * Asks the operator a yes/no question; absent when nobody can answer (not a terminal, a SOAR
   * step), in which case the verb proceeds as told by its flags and settings.
   */
  confirm?: (question: string) => Promise<boolean>;
}

export interface CliContext {
  io: CliIo;
  /** A verb's action reports its exit code here instead of calling process.exit. */
  exitWith(code: number): void;
}

/** One verb per file: it adds its command (arguments, options, action) to the program. */
export type RegisterVerb = (program: Command, cli: CliContext) => void;

/**
 * Exit codes shared by every verb (docs/guide/cli.md "Exit codes"). A SOAR step wrapping `isolate` must be able
 * to tell "the device is isolated" (0) from every way it is not.
 */
export const EXIT = {
  /**
   * The device ends in the asked state (already so, or an adopted action, included); a read answered;
   * a dry run decided (what it would do is in the output and the JSON; it used to exit 5, which broke
   * `set -e` scripts).
   */
  ok: 0,
  /** Something failed: MDE reported the action failed or timed out, a call failed, the sign-in was refused. */
  failure: 1,
  /** Usage or bad input: a flag, a file, an id; nothing was started for it. */
  badInput: 2,
  /** Decided, not carried out: escalated to a person, refused, not found, ambiguous, unsupported. */
  notCarriedOut: 3,
  /** Still running in MDE when `--wait` ended; the action ids were printed. */
  stillRunning: 4,
  /** Interrupted (Ctrl+C) after printing what was posted and what is unfinished: 128 + SIGINT. */
  interrupted: 130,
} as const;

/**
 * Ends the whole command at once with one line on stderr and exit code 1: for failures that retrying
 * cannot fix within a command's life (the operator's identity is refused).
 */
export class FatalCliError extends Error {}
