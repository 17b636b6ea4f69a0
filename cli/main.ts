#!/usr/bin/env node
/** `mde-isolator` command line. Each verb lives in its own file and is registered by one line below. */
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError } from 'commander';
import { errorStack } from '../shared/kernel/errors';
import { PRODUCT_VERSION } from '../shared/kernel/version';
import { registerApprovals } from './approvals';
import { registerAudit } from './audit';
import { registerBreaker } from './breaker';
import { registerCancel } from './cancel';
import { type CliIo, EXIT, FatalCliError, type RegisterVerb } from './context';
import { registerDoctor } from './doctor';
import { registerExtend } from './extend';
import { EXIT_CODES_HELP } from './help';
import { registerIsolate } from './isolate';
import { registerIsolations } from './isolations';
import { registerLookup } from './lookup';
import { registerReconcile } from './reconcile';
import { registerRelease } from './release';
import { registerReplay } from './replay';
import { registerRun } from './run';
import { registerStatus } from './status';
import { registerWhatif } from './whatif';

const VERBS: RegisterVerb[] = [
  registerWhatif,
  registerRun,
  registerIsolate,
  registerRelease,
  registerStatus,
  registerLookup,
  registerCancel,
  registerExtend,
  registerApprovals,
  registerReplay,
  registerIsolations,
  registerAudit,
  registerReconcile,
  registerBreaker,
  registerDoctor,
];

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never exits the process. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('mde-isolator')
    .description(
      'Isolate compromised devices through Microsoft Defender for Endpoint under a declarative policy.',
    )
    .version(PRODUCT_VERSION)
    .addHelpText('afterAll', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  const cli = { io, exitWith: (code: number) => (exitCode = code) };
  for (const register of VERBS) register(program, cli);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof FatalCliError) {
      io.stderr.write(`mde-isolator: ${error.message}\n`);
      return EXIT.failure;
    }
    if (!(error instanceof CommanderError)) throw error;
    // Help and version exit 0; usage mistakes are bad input like an unreadable file.
    return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
  }
  return exitCode;
}

/** A yes/no question on the terminal; only when both stdin and stderr are one (never in a pipe or a SOAR step). */
function terminalConfirm(): CliIo['confirm'] {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await prompt.question(question)).trim());
    } finally {
      prompt.close();
    }
  };
}

/** Runs the CLI on this process's arguments and streams, and sets its exit code (cli/bin.js, `node dist/cli/main.js`). */
export function runFromProcess(): void {
  // The first Ctrl+C stops waiting and prints what was posted; a second one ends the process at once.
  const interrupt = new AbortController();
  // A reader that stops early (`| head`) closes the pipe: what is left to print has nobody to read it,
  // but the command's work (an isolation posted, tracked) goes on to its end and its exit code.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    interrupt.abort();
  });
  runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    interrupt: interrupt.signal,
    confirm: terminalConfirm(),
  })
    .then((code) => {
      process.exitCode = code;
      // Interrupted: isolations go on in MDE, tracking here stops; nothing left to wait for.
      if (code === EXIT.interrupted) process.exit(code);
    })
    .catch((error: unknown) => {
      process.stderr.write(`mde-isolator: ${errorStack(error)}\n`);
      process.exitCode = EXIT.failure;
    });
}

if (require.main === module) runFromProcess();
