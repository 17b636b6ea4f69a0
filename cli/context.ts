/** What every CLI verb gets: its output streams and environment, so verbs run in-process in tests. */
import type { Command } from 'commander';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Relative file arguments are resolved against this. */
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface CliContext {
  io: CliIo;
  /** A verb's action reports its exit code here instead of calling process.exit. */
  exitWith(code: number): void;
}

/** One verb per file: it adds its command (arguments, options, action) to the program. */
export type RegisterVerb = (program: Command, cli: CliContext) => void;

/** Exit codes shared by every verb. */
export const EXIT = { ok: 0, failure: 1, badInput: 2 } as const;

/**
 * Ends the whole command at once with one line on stderr and exit code 1: for failures that retrying
 * cannot fix within a command's life (the operator's identity is refused).
 */
export class FatalCliError extends Error {}
