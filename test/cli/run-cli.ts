/** Runs the CLI in this process with captured output, as the CLI tests do for every verb. */
import { runCli } from '../../cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A CLI whose commands run in `cwd` with exactly the settings in `env` (never the test's own environment). */
export function cliIn(cwd: string, env: Record<string, string>): (...argv: string[]) => Promise<CliRun> {
  return async (...argv) => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      cwd,
      env,
    };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  };
}
