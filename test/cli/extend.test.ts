/** `mde-isolator extend`: bad input is refused in one line with exit 2, before anything is opened. */
import { tmpdir } from 'node:os';
import { cliIn } from './run-cli';

const cli = cliIn(tmpdir(), {});
const machineId = '716240a6127a2375ac877a23ed488ec786b9e4a4';

describe('extend', () => {
  it('refuses a duration that is not minutes, hours or days, and a missing reason', async () => {
    const badFor = await cli('extend', machineId, '--for', '4 hours', '--reason', 'forensics');
    expect(badFor).toMatchObject({ code: 2, stdout: '' });
    expect(badFor.stderr).toBe(
      'extend: --for must be a whole number of minutes, hours or days: 30m, 8h, 2d\n',
    );
    const noReason = await cli('extend', machineId, '--for', '4h');
    expect(noReason).toMatchObject({
      code: 2,
      stderr: "extend: --reason is required; it goes into the register's history\n",
    });
  });
});
