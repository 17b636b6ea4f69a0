/**
 * The one rule for "did this app post action X?": the ledger's own posts, or MDE's `requestor` equal
 * to the app's client id; never an adoption, never a comment.
 */
import { postedByThisApp } from '../../shared/dispatch/steps/ownership';

const APP = '0f3c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const action = (requestor: string) => ({ id: 'a1', requestor });

describe('postedByThisApp', () => {
  it("counts the ledger's own posts, not the actions it adopted", () => {
    expect(postedByThisApp(action('analyst@contoso.com'), [{ actionId: 'a1', adopted: false }], null)).toBe(
      true,
    );
    expect(postedByThisApp(action('analyst@contoso.com'), [{ actionId: 'a1', adopted: true }], null)).toBe(
      false,
    );
    expect(postedByThisApp(action('analyst@contoso.com'), [{ actionId: 'a2', adopted: false }], null)).toBe(
      false,
    );
  });

  it("counts MDE's requestor only when it is the app's own client id, in any case", () => {
    expect(postedByThisApp(action(APP.toUpperCase()), [{ actionId: 'a1', adopted: true }], APP)).toBe(true);
    expect(postedByThisApp(action(APP), [], null)).toBe(false);
    expect(postedByThisApp(action('analyst@contoso.com'), [], APP)).toBe(false);
  });

  it('never trusts a comment: anyone can type it in the portal', () => {
    const forged = {
      ...action('analyst@contoso.com'),
      requestorComment: 'mde-isolator (enforce): isolate Full',
    };
    expect(postedByThisApp(forged, [], APP)).toBe(false);
  });
});
