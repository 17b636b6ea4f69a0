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
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text;
          extras.onStderr?.(stderr);
          return true;
        },
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
