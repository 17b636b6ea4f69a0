/**
 * The approval page link of an "approval pending" card: straight to the page without App Service
 * authentication; through its sign-in endpoint with it, since the deployment answers an unsigned
 * request 401 instead of redirecting it to sign in.
 */
import { approvalPageUrl } from '../../shared/notify/from-approvals';

describe('approvalPageUrl', () => {
  it('links straight to the page when no sign-in guards it (a developer machine)', () => {
    expect(approvalPageUrl('http://localhost:7071', 'ap-1', false)).toBe(
      'http://localhost:7071/api/approvals/ap-1/page',
    );
  });

  it('goes through the sign-in endpoint and back to the page, keeping a gateway path', () => {
    const link = new URL(approvalPageUrl('https://isolator.contoso.example/edge', 'ap 1', true));
    expect(link.origin + link.pathname).toBe('https://isolator.contoso.example/edge/.auth/login/aad');
    expect(link.searchParams.get('post_login_redirect_uri')).toBe('/edge/api/approvals/ap%201/page');
    expect([...link.searchParams.keys()]).toEqual(['post_login_redirect_uri']);
  });

  it('returns to a path on the same host only: never an address a card could send elsewhere', () => {
    const link = new URL(approvalPageUrl('https://func-mdeiso.azurewebsites.net', '//evil.example', true));
    expect(link.searchParams.get('post_login_redirect_uri')).toBe('/api/approvals/%2F%2Fevil.example/page');
  });
});
