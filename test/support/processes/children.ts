/**
 * The app's runtimes and its CLI as OS processes of their own (runtime-process.ts, cli/main.ts), each
 * compiled from source as it loads (ts-hook.js). Tests wait on their answers, never on time.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RuntimeAnswer, RuntimeOrder, RuntimeRole } from './runtime-process';

const ROOT = join(__dirname, '..', '..', '..');
const HOOK = ['-r', join(__dirname, 'ts-hook.js')];

/** The settings a child gets: exactly `env`, plus what Node itself needs to start. */
const childEnv = (env: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  ...env,
});

/** What a child wrote to stderr, for the failure message of a test. */
function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    text = (text + chunk).slice(-4_000);
  });
  return () => text;
}

export class RuntimeProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private readonly stderr: () => string;
  /** Settles when the process has exited, however. */
  readonly exited: Promise<void>;
  readonly ready: Promise<unknown>;

  constructor(
    readonly role: RuntimeRole,
    env: Record<string, string>,
    leaseMs: number,
  ) {
    const child = fork(join(__dirname, 'runtime-process.ts'), [role, String(leaseMs)], {
      cwd: ROOT,
      env: childEnv(env),
      execArgv: HOOK,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.stderr = collectStderr(child);
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
    child.on('message', ({ id, value, error }: RuntimeAnswer) => {
      const waiter = this.pending.get(id);
      this.pending.delete(id);
      if (error === undefined) waiter?.resolve(value);
      else waiter?.reject(new Error(`${role} process: ${error}`));
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const waiter of this.pending.values())
          waiter.reject(
            new Error(`${role} process exited (${signal ?? code}) before answering: ${this.stderr()}`),
          );
        this.pending.clear();
        resolve();
      }),
    );
  }

  private readonly child: ChildProcess;

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Carries out `order` in the process and answers its result. */
  ask<T>(order: RuntimeOrder): Promise<T> {
    const id = this.nextId++;
    const answer = new Promise<T>((resolve, reject) =>
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject }),
    );
    this.child.send({ id, order });
    return answer;
  }

  /** SIGKILL: nothing in the process runs again. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface CliProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One run of the command line in a process of its own, as a person or a script starts it. */
export function runCliProcess(env: Record<string, string>, ...argv: string[]): Promise<CliProcessRun> {
  const child = spawn(process.execPath, [...HOOK, join(ROOT, 'cli', 'main.ts'), ...argv], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const stderr = collectStderr(child);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr: stderr() })));
}
