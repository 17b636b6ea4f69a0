import { FUNCTION_KEY_CALLER, identifyCaller, OPERATOR_ROLE } from '../../shared/manual/caller';

const headersOf = (values: Record<string, string>) => ({ get: (name: string) => values[name] ?? null });
const principal = (claims: Array<[string, string]>) =>
  Buffer.from(JSON.stringify({ claims: claims.map(([typ, val]) => ({ typ, val })) })).toString('base64');

describe('identifyCaller', () => {
  const operator = principal([
    ['name', 'alice@contoso.com'],
    ['roles', OPERATOR_ROLE],
  ]);

  it('ignores the principal header when Easy Auth is off: anyone could send it', () => {
    expect(identifyCaller(headersOf({ 'x-ms-client-principal': operator }), false)).toEqual({
      ok: true,
      caller: { label: FUNCTION_KEY_CALLER, name: null, objectId: null, tenants: 'every' },
    });
  });

  it('reads name and role with Easy Auth on', () => {
    expect(identifyCaller(headersOf({ 'x-ms-client-principal': operator }), true)).toMatchObject({
      ok: true,
      caller: { label: 'alice@contoso.com', name: 'alice@contoso.com' },
    });
  });

  it('refuses a header that is not a principal, and one without the role', () => {
    expect(identifyCaller(headersOf({ 'x-ms-client-principal': 'not base64 json' }), true)).toMatchObject({
      ok: false,
      status: 401,
    });
    const reader = principal([['roles', 'Reader']]);
    expect(identifyCaller(headersOf({ 'x-ms-client-principal': reader }), true)).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it('keeps a long name to one bounded line', () => {
    const long = principal([
      ['name', `${'a'.repeat(500)}\nforged line`],
      ['roles', OPERATOR_ROLE],
    ]);
    const check = identifyCaller(headersOf({ 'x-ms-client-principal': long }), true);
    expect(check.ok && check.caller.label.length).toBeLessThanOrEqual(120);
    expect(check.ok && check.caller.label).not.toContain('\n');
  });

  it('reads the tenants a principal may act in from its tenant roles, ids in lower case', () => {
    const tenantId = '2F4A9C1E-7B3D-4E8A-9C21-5D6E7F8A9B0C';
    const scoped = principal([
      ['roles', OPERATOR_ROLE],
      ['roles', `Isolation.Tenant.${tenantId}`],
      ['roles', 'Isolation.Tenant.contoso'],
    ]);
    const check = identifyCaller(headersOf({ 'x-ms-client-principal': scoped }), true);
    expect(check.ok && check.caller.tenants).toEqual([tenantId.toLowerCase()]);
    const lead = principal([
      ['roles', OPERATOR_ROLE],
      ['roles', 'Isolation.Tenant.All'],
    ]);
    const all = identifyCaller(headersOf({ 'x-ms-client-principal': lead }), true);
    expect(all.ok && all.caller.tenants).toBe('every');
  });
});
