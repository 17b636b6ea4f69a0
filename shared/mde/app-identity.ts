/**
 * Who this app is to MDE: the client id its token names, which MDE records as `requestor` on every
 * action the app posts. Read from the process's own token (cached by the credential), so it is known
 * for a system-assigned identity too, where no setting names it.
 */
import type { TokenCredential } from '@azure/identity';
import { appClientIdOf, claimsOf } from './token-claims';

export class AppIdentity {
  private known: string | null = null;

  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
  ) {}

  /**
   * The app's client id, or null when the token names none (a person's sign-in) or none could be had:
   * then only the action ledger proves what this app posted, which errs towards "not ours".
   */
  async clientId(): Promise<string | null> {
    if (this.known !== null) return this.known;
    let token: string | undefined;
    try {
      token = (await this.credential.getToken(this.scope))?.token;
    } catch {
      return null;
    }
    const claims = token ? claimsOf(token) : null;
    this.known = claims ? appClientIdOf(claims) : null;
    return this.known;
  }
}
