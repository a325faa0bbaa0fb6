import { InviteError } from '../../errors.js';
import { formatJid, parseBareJid } from '../../jid.js';
import type { RosterItem, RosterLink, XmppProvisioner } from '../../ports/XmppProvisioner.js';
import { XmppAuthError, XmppConnection, XmppStanzaError, x, type XmlElement } from './XmppConnection.js';

const NS_COMMANDS = 'http://jabber.org/protocol/commands';
const NS_DATA = 'jabber:x:data';
const NS_ROSTER = 'jabber:iq:roster';
const ADMIN = 'http://jabber.org/protocol/admin';

export interface ProsodyProvisionerOptions {
  domain: string;
  connection: XmppConnection;
  /** Opens a c2s session as a user, to check a password by logging in. */
  userConnection: (jid: string, password: string) => XmppConnection;
}

export interface ProsodyServer {
  domain: string;
  /** `xmpp://host:port` or `xmpps://host:port`. */
  service: string;
  adminJid: string;
  password: () => Promise<string> | string;
  timeoutMs: number;
  tlsCaFile?: string;
}

const field = (name: string, value: string, type?: string) => x('field', { var: name, type }, x('value', {}, value));

/**
 * Prosody 0.12+: XEP-0133 ad-hoc commands (mod_admin_adhoc) as an admin JID
 * create accounts and set passwords; XEP-0356 (mod_privilege) lets that admin
 * set both users' rosters to subscription='both' without their passwords.
 */
export class ProsodyProvisioner implements XmppProvisioner {
  readonly #domain: string;
  readonly #xmpp: XmppConnection;
  readonly #userConnection: ProsodyProvisionerOptions['userConnection'];
  /**
   * The XEP-0133 command that tells whether an account exists: both answer
   * "User does not exist" for none, but get-user-roster sends the whole roster
   * (twice), so an inviter's check grew with every contact their invites gave
   * them; user-stats answers a few fields. get-user-roster only where the
   * account's role may not run user-stats (a Prosody 13 role granted before).
   */
  #existsCommand: 'user-stats' | 'get-user-roster' = 'user-stats';

  public constructor(options: ProsodyProvisionerOptions) {
    this.#domain = options.domain;
    this.#xmpp = options.connection;
    this.#userConnection = options.userConnection;
  }

  /** The one way to wire it: an admin connection, and user sessions on the same server with the same trust. */
  public static at(server: ProsodyServer): ProsodyProvisioner {
    const { service, timeoutMs, tlsCaFile } = server;
    return new ProsodyProvisioner({
      domain: server.domain,
      connection: new XmppConnection({ service, jid: server.adminJid, password: server.password, timeoutMs, tlsCaFile }),
      userConnection: (jid, password) => new XmppConnection({ service, jid, password: () => password, timeoutMs, tlsCaFile }),
    });
  }

  /** Logs the admin connection in now, if it is not (a cold start's first call overlaps it with its own work). */
  public async connect(): Promise<void> {
    await this.#xmpp.connect();
  }

  /** Prosody has no admin command for it: log in as the user. */
  public async verifyPassword(jid: string, password: string): Promise<boolean> {
    const session = this.#userConnection(jid, password);
    try {
      await session.connect();
      return true;
    } catch (e) {
      // A refused login is an answer; an unreachable (or untrustworthy) server is not.
      if (e instanceof InviteError && e.cause instanceof XmppAuthError && e.cause.condition === 'not-authorized') return false;
      throw e;
    } finally {
      await session.close();
    }
  }

  public async createAccount(jid: string, password: string): Promise<void> {
    await this.#adminCommand('add-user', [
      field('accountjid', jid, 'jid-single'),
      field('password', password, 'text-private'),
      field('password-verify', password, 'text-private'),
    ]);
  }

  public async setPassword(jid: string, password: string): Promise<void> {
    await this.#adminCommand('change-user-password', [field('accountjid', jid, 'jid-single'), field('password', password, 'text-private')]);
  }

  public async accountExists(jid: string): Promise<boolean> {
    const command = this.#existsCommand;
    try {
      await this.#adminCommand(command, [field('accountjid', jid, 'jid-single')]);
      return true;
    } catch (e) {
      if (e instanceof InviteError && e.code === 'account-not-found') return false;
      if (command === 'user-stats' && isForbidden(e)) {
        // A Prosody 13 role granted before this check changed command (docs/prosody.md).
        this.#existsCommand = 'get-user-roster';
        return this.accountExists(jid);
      }
      throw e;
    }
  }

  public async linkRosters(link: RosterLink): Promise<void> {
    const { a, b, groups, nameOfAForB, nameOfBForA } = link;
    const self = bareOf(this.#xmpp.jid);
    if (a === self || b === self) return this.#linkWithSelf(link, self);
    const item = (jid: string, name?: string) =>
      x(
        'iq',
        { type: 'set', to: jid === a ? a : b },
        x('query', { xmlns: NS_ROSTER }, x('item', { jid, subscription: 'both', name }, ...groups.map((g) => x('group', {}, g))))
      );
    // Each IQ goes to one user's roster and names the other one.
    const toA = item(b, nameOfBForA);
    toA.attrs.to = a;
    const toB = item(a, nameOfAForB);
    toB.attrs.to = b;
    // Both accounts first (one round trip, pipelined): a roster write for an
    // account that is gone fails only on its own side, and the other side
    // would then follow a JID whoever registers it next receives presence as.
    await Promise.all([a, b].map((jid) => this.#mustExist(jid)));
    const [writtenA, writtenB] = await Promise.allSettled([this.#rosterSet(toA, a), this.#rosterSet(toB, b)]);
    if (writtenA.status === 'rejected' || writtenB.status === 'rejected') {
      // Deleted between the check and the write: take back the side that was written.
      const undo =
        writtenA.status === 'fulfilled' ? { owner: a, contact: b } : writtenB.status === 'fulfilled' ? { owner: b, contact: a } : undefined;
      if (undo) {
        await this.#rosterSet(
          x(
            'iq',
            { type: 'set', to: undo.owner },
            x('query', { xmlns: NS_ROSTER }, x('item', { jid: undo.contact, subscription: 'remove' }))
          ),
          undo.owner
        ).catch(() => undefined);
      }
      throw (writtenA.status === 'rejected' ? writtenA.reason : (writtenB as PromiseRejectedResult).reason) as Error;
    }
  }

  async #mustExist(jid: string): Promise<void> {
    if (!(await this.accountExists(jid))) throw new InviteError('account-not-found', `there is no account ${jid}`);
  }

  /**
   * The provisioning account as one side. A roster set on one's own roster
   * cannot set a subscription (RFC 6121 2.1.5; Prosody's mod_roster ignores
   * it and mod_privilege only serves other users' rosters), so only the other
   * side is written with privilege; the admin's side goes through the
   * server's own subscription state machine, with the other user's session:
   * 1. privileged set: the other's roster has the admin as `both`;
   * 2. the admin's own set adds the other (name, groups; subscription none),
   *    so Prosody does not answer for the admin from the other's roster;
   * 3. the other subscribes to the admin (the admin's pending-in);
   * 4. the admin approves (`from`) and subscribes; the other's server side
   *    answers at once since its roster says `both`, so the admin has `both`.
   * Each stanza of a session is processed in order and local delivery is
   * synchronous, so a roster query on the same session after the presences
   * sees their effect. Idempotent: a repeated run ends in the same state.
   */
  async #linkWithSelf({ a, b, groups, nameOfAForB, nameOfBForA, passwordOfB }: RosterLink, self: string): Promise<void> {
    const other = a === self ? b : a;
    if (other === self) throw new InviteError('jid-invalid', 'cannot link an account with itself');
    const nameOfOtherForSelf = a === self ? nameOfBForA : nameOfAForB;
    const nameOfSelfForOther = a === self ? nameOfAForB : nameOfBForA;
    const rosterItem = (jid: string, attrs: Record<string, string | undefined>) =>
      x('query', { xmlns: NS_ROSTER }, x('item', { jid, ...attrs }, ...groups.map((g) => x('group', {}, g))));

    await this.#rosterSet(x('iq', { type: 'set', to: other }, rosterItem(self, { subscription: 'both', name: nameOfSelfForOther })), other);
    const mine = async () => (await this.getRoster(self)).find((i) => i.jid === other);
    if ((await mine())?.subscription === 'both') return;
    if (other !== b || passwordOfB === undefined) {
      throw new InviteError('xmpp-error', `linking the provisioning account ${self} needs the password of ${other}`);
    }
    await this.#request(x('iq', { type: 'set' }, rosterItem(other, { name: nameOfOtherForSelf })));

    const session = this.#userConnection(other, passwordOfB);
    try {
      await session.send(x('presence', { type: 'subscribe', to: self }));
      await session.iq(x('iq', { type: 'get' }, x('query', { xmlns: NS_ROSTER })));
      // While the other is online its own roster (both) is what the server consults.
      await this.#xmpp.send(x('presence', { type: 'subscribed', to: other }));
      await this.#xmpp.send(x('presence', { type: 'subscribe', to: other }));
      const item = await mine();
      if (item?.subscription !== 'both') {
        throw new InviteError('xmpp-error', `the XMPP server left ${self}'s subscription with ${other} at ${item?.subscription ?? 'none'}`);
      }
    } finally {
      await session.close();
    }
  }

  public async getRoster(jid: string): Promise<RosterItem[]> {
    const result = await this.#request(x('iq', { type: 'get', to: jid }, x('query', { xmlns: NS_ROSTER })));
    const query = result.getChild('query', NS_ROSTER);
    return (query?.getChildren('item') ?? []).map((item) => ({
      jid: item.attrs.jid as string,
      subscription: item.attrs.subscription ?? 'none',
      groups: item.getChildren('group').map((g) => g.text()),
    }));
  }

  public async close(): Promise<void> {
    await this.#xmpp.close();
  }

  async #rosterSet(iq: XmlElement, owner: string): Promise<void> {
    try {
      await this.#request(iq);
    } catch (e) {
      // mod_privilege answers service-unavailable for a user that does not
      // exist, and also when the admin JID is not a privileged entity.
      if (e instanceof XmppStanzaError && e.condition === 'service-unavailable') {
        if (!(await this.accountExists(owner))) {
          throw new InviteError('account-not-found', `there is no account ${owner}`, { cause: e });
        }
        throw new InviteError('xmpp-error', `cannot write the roster of ${owner}: is mod_privilege set up for the admin JID?`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  async #adminCommand(command: string, fields: XmlElement[]): Promise<void> {
    const iq = x(
      'iq',
      { type: 'set', to: this.#domain },
      x(
        'command',
        { xmlns: NS_COMMANDS, node: `${ADMIN}#${command}`, action: 'complete' },
        x('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', ADMIN, 'hidden'), ...fields)
      )
    );
    const result = await this.#request(iq);
    const cmd = result.getChild('command', NS_COMMANDS);
    const note = cmd?.getChild('note');
    // Prosody reports command failures as a result with an error note.
    if (note?.attrs.type === 'error') throw noteError(note.text());
    if (cmd?.attrs.status !== 'completed') {
      throw new InviteError('xmpp-error', `the XMPP server did not complete ${command}`);
    }
  }

  async #request(iq: XmlElement): Promise<XmlElement> {
    try {
      return await this.#xmpp.iq(iq);
    } catch (e) {
      if (e instanceof XmppStanzaError && e.condition === 'forbidden') {
        throw new InviteError('xmpp-unavailable', 'the provisioning account is not an admin of the XMPP server', {
          retryAfter: 60,
          cause: e,
        });
      }
      throw e;
    }
  }
}

/** The server refused an admin command to this account (its role lacks the permission). */
const isForbidden = (e: unknown): boolean =>
  e instanceof InviteError && e.cause instanceof XmppStanzaError && e.cause.condition === 'forbidden';

/** Bare JIDs compare normalized: the configured admin JID may differ in case from an invite's inviter. */
const bareOf = (jid: string): string => {
  try {
    return formatJid(parseBareJid(jid.split('/')[0]));
  } catch {
    return jid;
  }
};

const noteError = (text: string): InviteError => {
  if (/already exists/i.test(text)) return new InviteError('username-taken', 'this username is taken');
  if (/does not exist|no such user/i.test(text)) return new InviteError('account-not-found', 'there is no such account');
  if (/invalid jid|invalid data|empty username/i.test(text)) {
    return new InviteError('username-invalid', 'the XMPP server rejected this username');
  }
  return new InviteError('xmpp-error', 'the XMPP server refused the command');
};
