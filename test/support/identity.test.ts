import { IDENTITY_VARIABLES, pointIdentityAt } from './identity';

describe('pointIdentityAt', () => {
  it('sets the simulator variables, clears other identity variables, and restores all of them', () => {
    const before = { ...process.env };
    process.env.MSI_ENDPOINT = 'http://elsewhere';
    delete process.env.IDENTITY_HEADER;
    const expected = { ...process.env };
    const restore = pointIdentityAt({
      env: () => ({
        IDENTITY_ENDPOINT: 'http://127.0.0.1:1/msi',
        IDENTITY_HEADER: 'h',
        MDE_API_URL: 'http://127.0.0.1:1',
      }),
    });
    expect(process.env.IDENTITY_ENDPOINT).toBe('http://127.0.0.1:1/msi');
    expect(process.env.MDE_API_URL).toBe('http://127.0.0.1:1');
    expect(process.env.MSI_ENDPOINT).toBeUndefined();
    restore();
    for (const name of [...IDENTITY_VARIABLES, 'MDE_API_URL']) expect(process.env[name]).toBe(expected[name]);
    process.env = before;
  });
});
