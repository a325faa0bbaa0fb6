import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { XmppServerConfig } from './settings.js';
import { InviteError, markNotSent } from '../../errors.js';
import type { RosterItem, RosterLink, XmppProvisioner } from '../../ports/XmppProvisioner.js';
import { apiUrlProblem, trustedCas } from './tlsPolicy.js';

export interface EjabberdProvisionerOptions {
  server: Pick<XmppServerConfig, 'adminJid' | 'apiUrl' | 'timeoutMs'>;
  password: () => Promise<string> | string;
  /** PEM file of an extra CA to trust for the https API, on top of the system CAs. */
  tlsCaFile?: string;
}

/**
 * A get_roster row: one per (contact, group) with `group` up to API v0
 * (ejabberd 23.01), one per contact with `groups` from API v1 (ejabberd 24.x).
 */
interface GetRosterRow {
  jid: string;
  subscription: string;
  group?: string;
  groups?: string[];
}

const splitJid = (jid: string): { user: string; host: string } => {
  const at = jid.lastIndexOf('@');
  return { user: jid.slice(0, at), host: jid.slice(at + 1) };
};

/**
 * ejabberd 23.01+: its HTTP admin API (mod_http_api, mod_admin_extra
 * commands) with Basic auth as an admin JID. Each call is one stateless HTTP
 * request, so there is no connection to keep warm or close.
 */
export class EjabberdProvisioner implements XmppProvisioner {
  readonly #apiUrl: string;
  readonly #adminJid: string;
  readonly #timeoutMs: number;
  readonly #password: () => Promise<string> | string;
  readonly #tlsCaFile: string | undefined;
  /** Made on the first https call: it holds the trust anchors and keeps connections warm. */
  #httpsAgent: HttpsAgent | undefined;
  /**
   * add_rosteritem's arguments: `group` (one string joined with ';', API v0,
   * ejabberd up to 23.x) or `groups` (a list, API v1: ejabberd 24.x answers
   * the latest version to an unversioned URL). Learnt from the first refusal.
   */
  #rosterGroups: 'group' | 'groups' = 'group';

  public constructor(options: EjabberdProvisionerOptions) {
    if (!options.server.apiUrl) throw new Error('ejabberd needs apiUrl (mod_http_api)');
    this.#apiUrl = options.server.apiUrl.replace(/\/+$/, '');
    this.#adminJid = options.server.adminJid;
    this.#timeoutMs = options.server.timeoutMs;
    this.#password = options.password;
    this.#tlsCaFile = options.tlsCaFile;
  }

  public async createAccount(jid: string, password: string): Promise<void> {
    await this.#call('register', { ...splitJid(jid), password }, password);
  }

  public async setPassword(jid: string, password: string): Promise<void> {
    // Answers 404 "unknown_user" for a missing account.
    await this.#call('change_password', { ...splitJid(jid), newpass: password }, password);
  }

  public async accountExists(jid: string): Promise<boolean> {
    // A rescode: 0 the account exists, 1 it does not.
    return (await this.#call('check_account', splitJid(jid))) === 0;
  }

  public async verifyPassword(jid: string, password: string): Promise<boolean> {
    // A rescode: 0 the password is right, 1 it is not (or no such account).
    return (await this.#call('check_password', { ...splitJid(jid), password }, password)) === 0;
  }

  public async linkRosters({ a, b, groups, nameOfAForB, nameOfBForA }: RosterLink): Promise<void> {
    // add_rosteritem joins groups with ';' and answers success even for a
    // user that does not exist (it writes a roster for nobody): check first.
    if (groups.some((g) => g.includes(';'))) {
      throw new InviteError('xmpp-error', "ejabberd cannot set a roster group whose name contains ';'");
    }
    await Promise.all([a, b].map((jid) => this.#mustExist(jid)));
    const item = (owner: string, contact: string, nick: string | undefined) => {
      const o = splitJid(owner);
      const c = splitJid(contact);
      return this.#call('add_rosteritem', {
        localuser: o.user,
        localhost: o.host,
        user: c.user,
        host: c.host,
        nick: nick ?? '',
        ...(this.#rosterGroups === 'group' ? { group: groups.join(';') } : { groups }),
        subs: 'both',
      });
    };
    const both = () => Promise.all([item(a, b, nameOfBForA), item(b, a, nameOfAForB)]);
    try {
      await both();
    } catch (e) {
      // API v1 (ejabberd 24.x) refuses `group` before writing anything: same items, its spelling.
      const said = e instanceof InviteError && e.cause instanceof Error ? e.cause.message : '';
      if (this.#rosterGroups !== 'group' || !/unknown arguments.*\bgroup\b/i.test(said)) throw e;
      this.#rosterGroups = 'groups';
      await both();
    }
  }

  public async getRoster(jid: string): Promise<RosterItem[]> {
    // get_roster of a missing user answers whatever roster was stored for it.
    await this.#mustExist(jid);
    const rows = (await this.#call('get_roster', splitJid(jid))) as GetRosterRow[];
    // One row per (contact, group); a contact without a group has group "".
    const byJid = new Map<string, RosterItem>();
    for (const row of rows) {
      const item = byJid.get(row.jid) ?? { jid: row.jid, subscription: row.subscription, groups: [] };
      if (row.group) item.groups.push(row.group);
      if (Array.isArray(row.groups)) item.groups.push(...row.groups.filter(Boolean));
      byJid.set(row.jid, item);
    }
    return [...byJid.values()];
  }

  public async close(): Promise<void> {
    // Stateless HTTP: only idle keep-alive sockets are held.
    this.#httpsAgent?.destroy();
    this.#httpsAgent = undefined;
  }

  async #mustExist(jid: string): Promise<void> {
    if (!(await this.accountExists(jid))) {
      throw new InviteError('account-not-found', `there is no account ${jid}`);
    }
  }

  /** POSTs one command; `secret` is a user password that must never reach a message. */
  async #call(command: string, args: Record<string, string | string[]>, secret?: string): Promise<unknown> {
    // Checked at use too (config does it at start): the admin password rides on every call.
    if (apiUrlProblem(this.#apiUrl)) {
      throw markNotSent(
        new InviteError('xmpp-unavailable', 'the ejabberd API URL is refused: plaintext HTTP off loopback', { retryAfter: 300 })
      );
    }
    const adminPassword = await this.#password();
    const url = new URL(`${this.#apiUrl}/${command}`);
    let answer: { status: number; text: string };
    try {
      answer = await post(url, {
        headers: {
          authorization: `Basic ${Buffer.from(`${this.#adminJid}:${adminPassword}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(args),
        timeoutMs: this.#timeoutMs,
        agent: url.protocol === 'https:' ? this.#agent() : undefined,
      });
    } catch (cause) {
      if (cause instanceof InviteError) throw cause;
      const e = cause as { name?: string; code?: string };
      const why = e.name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : (e.code ?? e.name ?? 'error');
      const failure = new InviteError('xmpp-unavailable', `cannot reach the ejabberd API (${why})`, { retryAfter: 5 });
      // A refused or unresolvable connection never delivered the command.
      throw ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH'].includes(e.code ?? '') ? markNotSent(failure) : failure;
    }
    if (answer.status >= 200 && answer.status < 300) return parse(answer.text);
    throw apiError(command, answer.status, parse(answer.text), [adminPassword, secret]);
  }

  /** System CAs plus the configured file (Node's `ca` alone would replace the system store). */
  #agent(): HttpsAgent {
    if (!this.#httpsAgent) {
      let ca: string[];
      try {
        ca = trustedCas(this.#tlsCaFile);
      } catch {
        throw new InviteError('xmpp-unavailable', 'cannot read the configured XMPP TLS CA file', { retryAfter: 300 });
      }
      this.#httpsAgent = new HttpsAgent({ ca, rejectUnauthorized: true, keepAlive: true });
    }
    return this.#httpsAgent;
  }
}

/**
 * One POST with node:http(s) rather than fetch: fetch cannot take extra CAs
 * without a dispatcher from the undici package. Redirects are not followed,
 * so the Basic credentials go nowhere but the configured URL.
 */
const post = (
  url: URL,
  o: { headers: Record<string, string>; body: string; timeoutMs: number; agent: HttpsAgent | undefined }
): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const options = { method: 'POST', headers: { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) } };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, agent: o.agent }) : httpRequest(url, options);
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), o.timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(o.body);
  });

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** ejabberd's error body is `{status, code, message}` or a bare JSON string. */
const apiError = (command: string, status: number, body: unknown, secrets: (string | undefined)[]): InviteError => {
  const raw = typeof body === 'string' ? body : String((body as { message?: unknown } | null)?.message ?? '');
  // The server's own words may help an operator, but only without secrets.
  const serverSaid = secrets.reduce<string>((m, s) => (s ? m.split(s).join('***') : m), raw);
  const cause = new Error(`ejabberd ${command} answered ${status}: ${serverSaid}`);
  if (status === 409) return new InviteError('username-taken', 'this username is taken', { cause });
  if (/malformed/i.test(serverSaid)) {
    return new InviteError('username-invalid', 'the XMPP server rejected this username', { cause });
  }
  if (status === 404 && /unknown_user/i.test(serverSaid)) {
    return new InviteError('account-not-found', 'there is no such account', { cause });
  }
  if (status === 401 || status === 403) {
    // Refused before the command ran: nothing can have been done.
    return markNotSent(
      new InviteError('xmpp-unavailable', `the ejabberd API refused the provisioning account (${status})`, {
        retryAfter: 60,
        cause,
      })
    );
  }
  if (/unknown virtual host/i.test(serverSaid)) {
    return new InviteError('xmpp-error', `ejabberd does not host this domain (${command})`, { cause });
  }
  if (status >= 500) {
    return new InviteError('xmpp-unavailable', `the ejabberd API failed (${command}: ${status})`, { retryAfter: 5, cause });
  }
  return new InviteError('xmpp-error', `the ejabberd API refused ${command} (${status})`, { cause });
};
