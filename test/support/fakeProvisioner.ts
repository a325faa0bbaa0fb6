/**
 * A fake XMPP server behind the XmppProvisioner port, for unit tests of the
 * use cases: accounts in a map, every call recorded, and failures on demand
 * at each point a real server can fail. Errors are the port's InviteErrors.
 * (The real adapters are held to the port by test/integration/provisionerContract.ts.)
 */
import { InviteError } from '../../lib/errors.js';
import type { ProvisionerRegistry, RosterItem, RosterLink, XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';

/** Where a failure happens: before the server acted, or after it acted (a reply lost to a timeout). */
export interface Failure {
  error: Error;
  afterActing?: boolean;
}

type Method = 'forDomain' | 'createAccount' | 'setPassword' | 'linkRosters' | 'accountExists' | 'verifyPassword';

export const unavailable = () => new InviteError('xmpp-unavailable', 'the XMPP server did not answer in time', { retryAfter: 5 });

export class FakeProvisioner implements XmppProvisioner, ProvisionerRegistry {
  /** jid -> password */
  public readonly accounts = new Map<string, string>();
  /** Accounts this fake created, in order (one entry per account). */
  public readonly created: string[] = [];
  public readonly links: RosterLink[] = [];
  public readonly calls: { method: Method; jid?: string }[] = [];
  readonly #failures = new Map<Method, Failure[]>();
  readonly #latency: () => Promise<void>;

  public constructor(options: { latency?: () => Promise<void> } = {}) {
    this.#latency = options.latency ?? (() => new Promise((resolve) => setImmediate(resolve)));
  }

  /** The next call of `method` fails (once per call of failNext). */
  public failNext(method: Method, failure: Error | Failure = unavailable()): this {
    const queue = this.#failures.get(method) ?? [];
    queue.push(failure instanceof Error ? { error: failure } : failure);
    this.#failures.set(method, queue);
    return this;
  }

  public callsOf(method: Method): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  /** Runs one call: latency, a failure before acting, the action, a failure after acting. */
  async #call<T>(method: Method, jid: string | undefined, act: () => T): Promise<T> {
    this.calls.push({ method, jid });
    await this.#latency();
    const failure = this.#failures.get(method)?.shift();
    if (failure && !failure.afterActing) throw failure.error;
    const result = act();
    if (failure) throw failure.error;
    return result;
  }

  public forDomain(): Promise<XmppProvisioner> {
    return this.#call('forDomain', undefined, () => this);
  }

  public createAccount(jid: string, password: string): Promise<void> {
    return this.#call('createAccount', jid, () => {
      if (this.accounts.has(jid)) throw new InviteError('username-taken', 'this username is taken');
      this.accounts.set(jid, password);
      this.created.push(jid);
    });
  }

  public setPassword(jid: string, password: string): Promise<void> {
    return this.#call('setPassword', jid, () => {
      if (!this.accounts.has(jid)) throw new InviteError('account-not-found', 'no such account');
      this.accounts.set(jid, password);
    });
  }

  public accountExists(jid: string): Promise<boolean> {
    return this.#call('accountExists', jid, () => this.accounts.has(jid));
  }

  public verifyPassword(jid: string, password: string): Promise<boolean> {
    return this.#call('verifyPassword', jid, () => this.accounts.get(jid) === password);
  }

  public linkRosters(link: RosterLink): Promise<void> {
    return this.#call('linkRosters', link.b, () => {
      for (const jid of [link.a, link.b]) {
        if (!this.accounts.has(jid)) throw new InviteError('account-not-found', `no account ${jid}`);
      }
      this.links.push(link);
    });
  }

  /** Both sides of every link made, as the rosters would show them. */
  public async getRoster(jid: string): Promise<RosterItem[]> {
    return this.links.flatMap((l) =>
      l.a === jid
        ? [{ jid: l.b, subscription: 'both', groups: l.groups }]
        : l.b === jid
          ? [{ jid: l.a, subscription: 'both', groups: l.groups }]
          : []
    );
  }

  public async close(): Promise<void> {}
}
