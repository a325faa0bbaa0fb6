import type { XmppServerConfig } from '../config.js';
import { InviteError } from '../errors.js';
import type { RosterItem, RosterLink, XmppProvisioner } from '../ports/XmppProvisioner.js';

/** Placeholder until the ejabberd adapter lands: answers unavailable. */
export class EjabberdProvisioner implements XmppProvisioner {
  public constructor(_options: { server: XmppServerConfig; password: () => Promise<string> }) {}
  async #no(): Promise<never> {
    throw new InviteError('xmpp-unavailable', 'ejabberd is not supported yet', { retryAfter: 300 });
  }
  public createAccount(): Promise<void> { return this.#no(); }
  public setPassword(): Promise<void> { return this.#no(); }
  public accountExists(): Promise<boolean> { return this.#no(); }
  public linkRosters(_l: RosterLink): Promise<void> { return this.#no(); }
  public getRoster(): Promise<RosterItem[]> { return this.#no(); }
  public async close(): Promise<void> {}
}
