import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs scripts/retry-upload.sh (the package upload of `npm run publish:azure`) around a stand-in upload
 * command that fails in the order a test asks (FAKE_OUTCOMES: ok, storage403 with Core Tools' words for a
 * Flex upload the platform's identity could not write, own403 for a refusal of the signed-in account), and a
 * stand-in `sleep` that records the pauses instead of waiting.
 */
const script = join(__dirname, '..', '..', 'scripts', 'retry-upload.sh');

const fakeUpload = `#!/usr/bin/env bash
echo call >> "$CALLS"
n=$(wc -l < "$CALLS")
case $(echo "$FAKE_OUTCOMES" | cut -d, -f"$n") in
  ok) echo 'Deployment completed successfully.' ;;
  storage403)
    echo 'Failed to upload because Azure Storage responded with Forbidden : Response status code does not indicate success: 403 (This request is not authorized to perform this operation.).'
    exit 1 ;;
  own403) echo 'Error: Response status code does not indicate success: 403 (Forbidden).' >&2; exit 1 ;;
  *) echo "unexpected call $n" >&2; exit 3 ;;
esac
`;
const fakeSleep = `#!/usr/bin/env bash
echo "$1" >> "$PAUSES"
`;

function upload(outcomes: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'retry-upload-'));
  try {
    writeFileSync(join(dir, 'upload'), fakeUpload);
    writeFileSync(join(dir, 'sleep'), fakeSleep);
    chmodSync(join(dir, 'upload'), 0o755);
    chmodSync(join(dir, 'sleep'), 0o755);
    for (const file of ['calls', 'pauses']) writeFileSync(join(dir, file), '');
    const result = spawnSync('bash', [script, 'upload', '--node'], {
      encoding: 'utf8',
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        CALLS: join(dir, 'calls'),
        PAUSES: join(dir, 'pauses'),
        FAKE_OUTCOMES: outcomes.join(','),
        ...env,
      },
    });
    const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean);
    return { ...result, calls: lines('calls').length, pauses: lines('pauses').map(Number) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('scripts/retry-upload.sh', () => {
  it('uploads once when the first attempt succeeds', () => {
    const { status, calls, pauses, stdout } = upload(['ok']);
    expect(status).toBe(0);
    expect(calls).toBe(1);
    expect(pauses).toEqual([]);
    expect(stdout).toContain('Deployment completed successfully.');
  });

  it('retries while storage refuses the upload (the new role is propagating), with growing pauses', () => {
    const { status, calls, pauses, stderr } = upload(['storage403', 'storage403', 'storage403', 'ok']);
    expect(status).toBe(0);
    expect(calls).toBe(4);
    expect(pauses).toEqual([15, 30, 60]);
    expect(stderr).toContain('storage refused the package (403)');
    expect(stderr).toContain('attempt 2 of 8 in 15 s');
  });

  it('gives up after about 10 minutes, saying what to check', () => {
    const { status, calls, pauses, stderr } = upload(Array(8).fill('storage403'));
    expect(status).toBe(1);
    expect(calls).toBe(8);
    expect(pauses).toEqual([15, 30, 60, 120, 120, 120, 120]);
    expect(pauses.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10 * 60 - 30);
    expect(stderr).toContain('after 8 attempts');
    expect(stderr).toContain('Storage Blob Data Owner');
  });

  it('stops at once on any other failure, a 403 of the account itself included', () => {
    const { status, calls, pauses } = upload(['own403', 'ok']);
    expect(status).toBe(1);
    expect(calls).toBe(1);
    expect(pauses).toEqual([]);
  });

  it('takes its first pause from UPLOAD_RETRY_SECONDS', () => {
    const { status, pauses } = upload(['storage403', 'storage403', 'ok'], { UPLOAD_RETRY_SECONDS: '0' });
    expect(status).toBe(0);
    expect(pauses).toEqual([0, 0]);
  });
});
