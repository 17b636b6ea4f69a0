/**
 * The command line behind a reader that stops early (`mde-isolator approvals --help | head -1`): the
 * closed pipe is no crash, and the exit code is the command's. Runs the real entry point in a child
 * process (compiled from source as it loads), its output closed unread.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function helpUnread(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(ROOT, 'test/support/processes/ts-hook.js'),
        join(ROOT, 'cli/main.ts'),
        'approvals',
        '--help',
      ],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    // Closed before the command writes anything: every write of its meets the closed pipe, as the
    // rest of a long output does once `head` has read its lines.
    child.stdout.destroy();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('the command line with its output pipe closed early', () => {
  it('exits with its own code and writes no stack trace', async () => {
    const { code, stderr } = await helpUnread();
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  }, 60_000);
});
