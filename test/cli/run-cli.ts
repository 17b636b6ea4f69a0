/** Runs the CLI in this process with captured output, as the CLI tests do for every verb. */
import type { CliIo } from '../../cli/context';
import { runCli } from '../../cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a test may add to the CLI's io: an interrupt signal, a confirmation prompt, a watcher of stderr. */
export interface CliExtras {
  interrupt?: AbortSignal;
  confirm?: CliIo['confirm'];
  /** Called with stderr as written so far, after each write. */
  onStderr?: (stderr: string) => void;
  /** stdout is a terminal this many columns wide (a person reads it: tables); else a pipe (TSV). */
  terminal?: number;
  /** stderr is a terminal this many columns wide: a dispatching verb shows its progress bar there. */
  stderrTerminal?: number;
}

/** A CLI whose commands run in `cwd` with exactly the settings in `env` (never the test's own environment). */
export function cliIn(
  cwd: string,
  env: Record<string, string>,
  extras: CliExtras = {},
): (...argv: string[]) => Promise<CliRun> {
  return async (...argv) => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: {
        write: (text: string) => (stdout += text),
        ...(extras.terminal && { isTTY: true, columns: extras.terminal }),
      },
      stderr: {
        write: (text: string) => {
          stderr += text;
          extras.onStderr?.(stderr);
          return true;
        },
        ...(extras.stderrTerminal && { isTTY: true, columns: extras.stderrTerminal }),
      },
      cwd,
      env,
      interrupt: extras.interrupt,
      confirm: extras.confirm,
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  };
}

/**
 * Extras that interrupt the CLI (as a Ctrl+C would) once it printed that it posted an action: it stops
 * waiting with the action under way in MDE, right after the POST however slow the machine, where a
 * short `--wait` may end before the POST.
 */
export function interruptOncePosted(): CliExtras {
  const interrupt = new AbortController();
  return {
    interrupt: interrupt.signal,
    onStderr: (stderr) => {
      if (/^posted (Isolate|Unisolate) action /m.test(stderr)) interrupt.abort();
    },
  };
}
