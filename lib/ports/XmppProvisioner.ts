/**
 * What the redeem use case needs from an XMPP server. Errors are InviteErrors:
 * `username-taken` (the account exists), `username-invalid` (the server
 * rejected the localpart), `account-not-found` (reset or roster link of a
 * missing account), `xmpp-unavailable` (cannot reach or authenticate, with
 * `retryAfter`), `xmpp-error` (anything else the server refused).
 * test/integration/provisionerContract.ts holds every adapter to this.
 */
export interface RosterLink {
  /** Bare JIDs; both end up with subscription='both' on each other. */
  a: string;
  b: string;
  /** Roster groups set on both items. */
  groups: string[];
  /** Display names for each side's roster item (the name shown for the other). */
  nameOfBForA?: string;
  nameOfAForB?: string;
  /**
   * b's password. A server whose admin cannot write the subscription of its
   * own roster (Prosody, when a is the provisioning account itself) runs the
   * RFC 6121 subscription flow with b's own session.
   */
  passwordOfB?: string;
}

export interface RosterItem {
  jid: string;
  subscription: string;
  groups: string[];
}

export interface XmppProvisioner {
  /** Creates the account; `username-taken` if it exists. */
  createAccount(jid: string, password: string): Promise<void>;
  /** Sets the password of an existing account; `account-not-found` if there is none. */
  setPassword(jid: string, password: string): Promise<void>;
  /** Does the account exist? */
  accountExists(jid: string): Promise<boolean>;
  /** Does the account exist and accept this password? (Adopting an account a dead attempt created.) */
  verifyPassword(jid: string, password: string): Promise<boolean>;
  /** Mutual subscription (both/both) without either user's password. Idempotent; `account-not-found` if either is missing. */
  linkRosters(link: RosterLink): Promise<void>;
  /** Reads a user's roster (for tests and checks). */
  getRoster(jid: string): Promise<RosterItem[]>;
  /**
   * Opens what later calls need (the admin login) ahead of them, if the
   * adapter holds a connection; a cold start calls it before any request.
   */
  connect?(): Promise<void>;
  /** Closes any connection held by this adapter. */
  close(): Promise<void>;
}

/** Picks the provisioner for a domain (one deployment may front several servers). */
export interface ProvisionerRegistry {
  forDomain(domain: string): Promise<XmppProvisioner>;
  close(): Promise<void>;
}
