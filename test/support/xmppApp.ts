/**
 * Scripted XMPP apps for the native-app tests: they send, byte for byte, the
 * stanza sequences of Conversations 2.12, Monal and Siskin (tigase-swift) when
 * they open an invite URI (see /work/shared/docs/native-clients.md). Built on
 * raw sockets and a bare XML parser instead of xmpp.js, because the tests are
 * about exactly which stanza (with or without `to`/`from`, legacy fields or
 * x:data) reaches the server, and about the exact error the app would map.
 *
 * Every wait is bounded; a stalled server shows up as `timeout`, never as a
 * hung test. Outcomes are plain values (IQ type, error type/condition/text) so
 * tests assert what the app would show.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import xml from '@xmpp/xml';
import type { XmlElement } from '../../lib/adapters/xmpp/XmppConnection.js';

export type AppName = 'conversations' | 'monal' | 'siskin';
export const APPS: readonly AppName[] = ['conversations', 'monal', 'siskin'];

export const NS = {
  client: 'jabber:client',
  streams: 'http://etherx.jabber.org/streams',
  tls: 'urn:ietf:params:xml:ns:xmpp-tls',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  bind: 'urn:ietf:params:xml:ns:xmpp-bind',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  register: 'jabber:iq:register',
  registerFeature: 'http://jabber.org/features/iq-register',
  invite: 'urn:xmpp:invite',
  ibrToken: 'urn:xmpp:ibr-token:0',
  pars: 'urn:xmpp:pars:0',
  data: 'jabber:x:data',
  roster: 'jabber:iq:roster',
  commands: 'http://jabber.org/protocol/commands',
} as const;

/** Where the apps connect: the server's c2s port, and the CA its certificate chains to. */
export interface XmppTarget {
  domain: string;
  host: string;
  port: number;
  caFile: string;
}

export interface StanzaError {
  type: string;
  condition: string;
  text?: string;
}

/** What came back for one IQ: as the app sees it. */
export interface IqOutcome {
  type: 'result' | 'error' | 'timeout' | 'closed';
  error?: StanzaError;
  stanza?: XmlElement;
  /** Milliseconds from send to answer (or to giving up). */
  ms: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** XML escaping for attribute values and text: we write every byte ourselves. */
export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const attrs = (a: Record<string, string | undefined>): string =>
  Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}='${esc(v as string)}'`)
    .join('');

/** Random ids of the shape the apps use (they are opaque to the server). */
const newId = () => randomBytes(6).toString('base64url');

const childElements = (el: XmlElement): XmlElement[] => el.children.filter((c): c is XmlElement => typeof c !== 'string');

/** `<error type='…'><condition/><text>…</text></error>` of a stanza, as apps read it. */
export const stanzaError = (stanza: XmlElement): StanzaError | undefined => {
  const error = stanza.getChild('error');
  if (!error) return undefined;
  const condition = childElements(error).find((c) => c.attrs.xmlns === NS.stanzas && c.name !== 'text');
  const text = error.getChild('text', NS.stanzas)?.text();
  return { type: error.attrs.type ?? '', condition: condition?.name ?? '', ...(text ? { text } : {}) };
};

export interface DataFormField {
  var: string;
  type?: string;
  values: string[];
}

export const dataFormFields = (x: XmlElement | undefined): DataFormField[] =>
  x
    ? x.getChildren('field').map((f) => ({
        var: f.attrs.var ?? '',
        type: f.attrs.type,
        values: f.getChildren('value').map((v) => v.text()),
      }))
    : [];

const fieldXml = (field: string, value: string, type?: string) =>
  `<field${attrs({ var: field, type })}><value>${esc(value)}</value></field>`;

/**
 * One c2s stream over a raw socket: STARTTLS with the test CA, our own XML
 * framing, stanzas matched by id. Keeps everything received (for debugging)
 * and remembers why the server closed it.
 */
export class XmppStream {
  public features?: XmlElement;
  /** Set once the server closed the stream: `stream-error:<condition>` or `closed`. */
  public closedBy?: string;
  public readonly received: XmlElement[] = [];
  /** Stanzas not yet taken by a waiter. */
  readonly #inbox: XmlElement[] = [];
  readonly #waiters = new Set<() => void>();
  #socket: Socket | TLSSocket;
  #parser: any;
  /** Answers the server's own IQs and presences (e.g. roster pushes): what an app does. */
  public onStanza?: (stanza: XmlElement) => void;

  private constructor(
    public readonly target: XmppTarget,
    socket: Socket
  ) {
    this.#socket = socket;
    this.#listen(socket);
  }

  /** TCP connect, stream header, features; STARTTLS and a new stream when offered. */
  public static async open(target: XmppTarget, options: { tls?: boolean; timeoutMs?: number } = {}): Promise<XmppStream> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: target.host, port: target.port });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      s.setTimeout(timeoutMs, () => s.destroy(new Error('connect timeout')));
    });
    socket.setTimeout(0);
    const stream = new XmppStream(target, socket);
    try {
      await stream.restart(timeoutMs);
      if (options.tls !== false) await stream.starttls(timeoutMs);
      return stream;
    } catch (e) {
      stream.close();
      throw e;
    }
  }

  #listen(socket: Socket | TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => this.#parser?.write(data));
    socket.on('error', () => undefined);
    socket.on('close', () => this.#closed('closed'));
  }

  #newParser() {
    const parser = new xml.Parser();
    parser.on('element', (el: XmlElement) => {
      this.received.push(el);
      if (el.name === 'stream:error') {
        const cond = childElements(el).find((c) => c.name !== 'text');
        this.#closed(`stream-error:${cond?.name ?? 'unknown'}`);
      } else if (el.name === 'stream:features') {
        this.features = el;
      } else {
        this.onStanza?.(el);
      }
      this.#inbox.push(el);
      this.#wake();
    });
    parser.on('end', () => this.#closed('closed'));
    parser.on('error', () => this.#closed('xml-error'));
    this.#parser = parser;
  }

  #closed(why: string) {
    this.closedBy ??= why;
    this.#wake();
  }

  #wake() {
    for (const w of [...this.#waiters]) w();
  }

  public get secure(): boolean {
    return 'encrypted' in this.#socket && Boolean((this.#socket as TLSSocket).encrypted);
  }

  public write(raw: string) {
    if (!this.#socket.destroyed) this.#socket.write(raw);
  }

  /** The first stanza (since the last take) that matches, or undefined after timeoutMs or when the stream closed. */
  public async next(match: (el: XmlElement) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<XmlElement | undefined> {
    const take = () => {
      const i = this.#inbox.findIndex(match);
      return i >= 0 ? this.#inbox.splice(i, 1)[0] : undefined;
    };
    const found = take();
    if (found || this.closedBy) return found;
    return new Promise((resolve) => {
      const done = (value: XmlElement | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const check = () => {
        const el = take();
        if (el) done(el);
        else if (this.closedBy) done(undefined);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Opens a (new) stream on the current socket and waits for its features. */
  public async restart(timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.features = undefined;
    this.#newParser();
    this.write(
      `<?xml version='1.0'?><stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}' to='${esc(this.target.domain)}' version='1.0' xml:lang='en'>`
    );
    const features = await this.next((el) => el.name === 'stream:features' || el.name === 'stream:error', timeoutMs);
    if (features?.name !== 'stream:features') {
      throw new Error(`no stream features from ${this.target.host}:${this.target.port} (${this.closedBy ?? 'timeout'})`);
    }
  }

  public async starttls(timeoutMs = DEFAULT_TIMEOUT_MS) {
    if (!this.features?.getChild('starttls', NS.tls)) throw new Error('the server offers no STARTTLS');
    this.write(`<starttls xmlns='${NS.tls}'/>`);
    const proceed = await this.next((el) => el.name === 'proceed' || el.name === 'failure', timeoutMs);
    if (proceed?.name !== 'proceed') throw new Error('STARTTLS refused');
    const plain = this.#socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, servername: this.target.domain, ca: readFileSync(this.target.caFile) });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    this.#socket = secure;
    this.#listen(secure);
    await this.restart(timeoutMs);
  }

  /**
   * Sends one IQ exactly as given (attributes in this order, `undefined`
   * attributes left out) and waits for its answer.
   */
  public async iq(
    iqAttrs: { type: 'get' | 'set'; to?: string; from?: string; id?: string },
    payload: string,
    timeoutMs = DEFAULT_TIMEOUT_MS
  ): Promise<IqOutcome> {
    const id = iqAttrs.id ?? newId();
    const started = Date.now();
    this.write(`<iq${attrs({ type: iqAttrs.type, to: iqAttrs.to, from: iqAttrs.from, id })}>${payload}</iq>`);
    const answer = await this.next(
      (el) => el.name === 'iq' && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'),
      timeoutMs
    );
    const ms = Date.now() - started;
    if (!answer) return { type: this.closedBy ? 'closed' : 'timeout', ms };
    if (answer.attrs.type === 'error') return { type: 'error', error: stanzaError(answer), stanza: answer, ms };
    return { type: 'result', stanza: answer, ms };
  }

  public hasFeature(name: string, ns: string): boolean {
    return Boolean(this.features?.getChild(name, ns));
  }

  public close() {
    if (!this.#socket.destroyed) {
      try {
        this.#socket.write('</stream:stream>');
      } catch {
        // already gone
      }
      this.#socket.destroy();
    }
  }
}

/** The invite-related features an unauthenticated TLS stream offers. */
export interface InviteFeatures {
  /** `<register xmlns='urn:xmpp:invite'/>`: Conversations and Siskin send preauth only then. */
  invite: boolean;
  /** `<register xmlns='urn:xmpp:ibr-token:0'/>`: Monal sends preauth only then. */
  ibrToken: boolean;
  /** `<register xmlns='http://jabber.org/features/iq-register'/>`. */
  iqRegister: boolean;
}

export const inviteFeatures = (s: XmppStream): InviteFeatures => ({
  invite: s.hasFeature('register', NS.invite),
  ibrToken: s.hasFeature('register', NS.ibrToken),
  iqRegister: s.hasFeature('register', NS.registerFeature),
});

/** Would this app send the preauth IQ on these features? */
export const sendsPreauth = (app: AppName, f: InviteFeatures): boolean => (app === 'monal' ? f.ibrToken : f.invite);

/** The registration form the server offered (`get`): legacy fields and/or x:data. */
export interface RegistrationForm {
  outcome: IqOutcome;
  legacy: string[];
  dataForm?: DataFormField[];
}

export interface RegistrationResult {
  app: AppName;
  features: InviteFeatures;
  /** Absent when the app did not send one (no token, or the feature it needs is not advertised). */
  preauth?: IqOutcome;
  form?: RegistrationForm;
  /** Absent when the app stopped before (a failed preauth or form). */
  register?: IqOutcome;
  /** Which step ended the attempt: what the app would show. */
  verdict: 'registered' | 'invalid-token' | 'conflict' | 'weak-password' | 'wait' | 'failed';
}

/**
 * An unauthenticated TLS stream of one app, for in-band registration. The
 * steps can be driven one by one (to test a second registration on the same
 * stream) or all at once with `registerWithInvite`.
 */
export class AppSession {
  private constructor(
    public readonly app: AppName,
    public readonly stream: XmppStream
  ) {}

  public static async open(app: AppName, target: XmppTarget, options: { timeoutMs?: number } = {}): Promise<AppSession> {
    return new AppSession(app, await XmppStream.open(target, options));
  }

  public get features(): InviteFeatures {
    return inviteFeatures(this.stream);
  }

  get #domain() {
    return this.stream.target.domain;
  }

  /**
   * The preauth IQ: Conversations sends it with no `to` (XmppConnection's
   * unmodified IQ); Monal and Siskin address the domain.
   */
  public preauth(token: string, timeoutMs?: number): Promise<IqOutcome> {
    const to = this.app === 'conversations' ? undefined : this.#domain;
    return this.stream.iq({ type: 'set', to }, `<preauth xmlns='${NS.pars}' token='${esc(token)}'/>`, timeoutMs);
  }

  /** `get` of the registration form: every app addresses the domain. */
  public async form(timeoutMs?: number): Promise<RegistrationForm> {
    const outcome = await this.stream.iq({ type: 'get', to: this.#domain }, `<query xmlns='${NS.register}'/>`, timeoutMs);
    const query = outcome.stanza?.getChild('query', NS.register);
    const legacy = query
      ? childElements(query)
          .filter((c) => c.name !== 'x' && !c.attrs.xmlns)
          .map((c) => c.name)
      : [];
    const x = query?.getChild('x', NS.data);
    return { outcome, legacy, ...(x ? { dataForm: dataFormFields(x) } : {}) };
  }

  /**
   * The registration `set`, as each app builds it:
   * - Conversations: legacy `<username/><password/>`, `from='user@domain'`, no `to`;
   * - Monal: an x:data submit with FORM_TYPE jabber:iq:register, username,
   *   password and the form's hidden fields, `to=domain`;
   * - Siskin: when the server offered x:data, the form itself submitted back
   *   (every field, values filled in), else legacy fields; `to=domain`.
   */
  public register(username: string, password: string, form?: RegistrationForm, timeoutMs?: number): Promise<IqOutcome> {
    const domain = this.#domain;
    if (this.app === 'conversations') {
      return this.stream.iq(
        { type: 'set', from: `${username}@${domain}` },
        `<query xmlns='${NS.register}'><username>${esc(username)}</username><password>${esc(password)}</password></query>`,
        timeoutMs
      );
    }
    if (this.app === 'monal') {
      const hidden = (form?.dataForm ?? []).filter((f) => f.type === 'hidden' && f.var !== 'FORM_TYPE');
      const fields = [
        fieldXml('FORM_TYPE', NS.register, 'hidden'),
        fieldXml('username', username),
        fieldXml('password', password),
        ...hidden.map((f) => fieldXml(f.var, f.values[0] ?? '')),
      ];
      return this.stream.iq(
        { type: 'set', to: domain },
        `<query xmlns='${NS.register}'><x xmlns='${NS.data}' type='submit'>${fields.join('')}</x></query>`,
        timeoutMs
      );
    }
    if (form?.dataForm) {
      const filled = form.dataForm
        .filter((f) => f.var)
        .map((f) => {
          const value = f.var === 'username' ? username : f.var === 'password' ? password : (f.values[0] ?? '');
          return fieldXml(f.var, value, f.type);
        });
      return this.stream.iq(
        { type: 'set', to: domain },
        `<query xmlns='${NS.register}'><x xmlns='${NS.data}' type='submit'>${filled.join('')}</x></query>`,
        timeoutMs
      );
    }
    return this.stream.iq(
      { type: 'set', to: domain },
      `<query xmlns='${NS.register}'><username>${esc(username)}</username><password>${esc(password)}</password></query>`,
      timeoutMs
    );
  }

  /**
   * The whole in-app registration of an invite URI, in the app's order:
   * preauth (only if the app's feature is advertised), get the form, set.
   * Stops where the app stops: any preauth error is "invalid token".
   */
  public async registerWithInvite(
    token: string | undefined,
    username: string,
    password: string,
    timeoutMs?: number
  ): Promise<RegistrationResult> {
    const features = this.features;
    const result: RegistrationResult = { app: this.app, features, verdict: 'failed' };
    if (token !== undefined && sendsPreauth(this.app, features)) {
      result.preauth = await this.preauth(token, timeoutMs);
      if (result.preauth.type !== 'result') {
        result.verdict = result.preauth.error?.type === 'wait' || result.preauth.type === 'timeout' ? 'wait' : 'invalid-token';
        // Conversations shows "invalid token" for any preauth error; the
        // verdict keeps `wait` apart so tests can tell a bounded outage.
        return result;
      }
    }
    result.form = await this.form(timeoutMs);
    if (result.form.outcome.type !== 'result') return result;
    result.register = await this.register(username, password, result.form, timeoutMs);
    result.verdict = verdictOf(result.register);
    return result;
  }

  public close() {
    this.stream.close();
  }
}

/** How Conversations maps the answer to the registration `set` (XmppConnection's registration listener). */
export const verdictOf = (o: IqOutcome): RegistrationResult['verdict'] => {
  if (o.type === 'result') return 'registered';
  const e = o.error;
  if (!e) return o.type === 'timeout' ? 'wait' : 'failed';
  if (e.condition === 'conflict') return 'conflict';
  if (e.type === 'wait' && e.condition === 'resource-constraint') return 'wait';
  if (e.condition === 'not-acceptable' && (e.text === 'The password is too weak' || e.text === 'Please use a longer password.')) {
    return 'weak-password';
  }
  if (e.type === 'wait') return 'wait';
  return 'failed';
};

/** Opens a stream, runs the app's registration, closes. */
export const registerWithApp = async (
  app: AppName,
  target: XmppTarget,
  input: { token?: string; username: string; password: string; timeoutMs?: number }
): Promise<RegistrationResult> => {
  const session = await AppSession.open(app, target);
  try {
    return await session.registerWithInvite(input.token, input.username, input.password, input.timeoutMs);
  } finally {
    session.close();
  }
};

/** A password like the ones Conversations generates: 12 random characters. */
export const appPassword = (): string => randomBytes(12).toString('base64url').slice(0, 12);

export interface AdhocResult {
  outcome: IqOutcome;
  /** `completed`, `executing`, `canceled` of the last answer. */
  status?: string;
  fields: Record<string, string>;
  notes: { type: string; text: string }[];
}

/**
 * A logged-in app: SASL PLAIN over TLS, bind, roster get and initial
 * presence (so subscription requests are delivered live, as to a running app).
 */
export class LoggedInApp {
  /** JIDs whose `subscribe` this app approves at once: the contact it just added from a roster invite. */
  readonly #preApproved = new Set<string>();

  private constructor(
    public readonly jid: string,
    public readonly stream: XmppStream
  ) {
    stream.onStanza = (el) => this.#onStanza(el);
  }

  public static async login(target: XmppTarget, jid: string, password: string, options: { timeoutMs?: number } = {}): Promise<LoggedInApp> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const stream = await XmppStream.open(target, { timeoutMs });
    try {
      const [local] = jid.split('@');
      const mechanisms =
        stream.features
          ?.getChild('mechanisms', NS.sasl)
          ?.getChildren('mechanism')
          .map((m) => m.text()) ?? [];
      if (!mechanisms.includes('PLAIN')) throw new Error(`no SASL PLAIN offered (${mechanisms.join(', ')})`);
      stream.write(
        `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${Buffer.from(`\0${local}\0${password}`, 'utf8').toString('base64')}</auth>`
      );
      const answer = await stream.next((el) => el.name === 'success' || el.name === 'failure', timeoutMs);
      if (answer?.name !== 'success') throw new LoginError(`authentication failed for ${jid}`);
      await stream.restart(timeoutMs);
      const bound = await stream.iq(
        { type: 'set' },
        `<bind xmlns='${NS.bind}'><resource>app-${randomBytes(3).toString('hex')}</resource></bind>`,
        timeoutMs
      );
      if (bound.type !== 'result') throw new Error(`bind failed: ${JSON.stringify(bound.error ?? bound.type)}`);
      const app = new LoggedInApp(jid, stream);
      await stream.iq({ type: 'get' }, `<query xmlns='${NS.roster}'/>`, timeoutMs);
      stream.write('<presence/>');
      return app;
    } catch (e) {
      stream.close();
      throw e;
    }
  }

  #onStanza(el: XmlElement) {
    // Roster pushes must be acknowledged, as every client does.
    if (el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', NS.roster)) {
      this.stream.write(`<iq type='result'${attrs({ id: el.attrs.id, to: el.attrs.from })}/>`);
    }
    if (el.name === 'presence' && el.attrs.type === 'subscribe') {
      const from = (el.attrs.from ?? '').split('/')[0] as string;
      if (this.#preApproved.has(from)) this.stream.write(`<presence type='subscribed'${attrs({ to: from })}/>`);
    }
  }

  /**
   * XEP-0379 from an existing account, as Conversations/Monal/Siskin do it
   * for `xmpp:romeo@example.com?roster;preauth=TOKEN`: add the contact to the
   * roster, then a subscribe carrying the token. The app approves the
   * contact's subscription back (Conversations' preemptive grant).
   */
  public async subscribeWithPreauth(contact: string, token: string | undefined, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    this.#preApproved.add(contact);
    await this.stream.iq({ type: 'set' }, `<query xmlns='${NS.roster}'><item${attrs({ jid: contact })}/></query>`, timeoutMs);
    const preauth = token === undefined ? '' : `<preauth xmlns='${NS.pars}' token='${esc(token)}'/>`;
    this.stream.write(`<presence type='subscribe'${attrs({ to: contact })}>${preauth}</presence>`);
  }

  /** Waits for a presence of the given type from a bare JID (e.g. `subscribed` from the contact). */
  public presenceFrom(bare: string, type: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<XmlElement | undefined> {
    return this.stream.next(
      (el) => el.name === 'presence' && (el.attrs.from ?? '').split('/')[0] === bare && (el.attrs.type ?? 'available') === type,
      timeoutMs
    );
  }

  /**
   * A round trip on this stream: the server handles a session's stanzas in
   * order, so once the answer is here, everything sent before was handled.
   */
  public async sync(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.stream.iq({ type: 'get', to: this.stream.target.domain }, `<ping xmlns='urn:xmpp:ping'/>`, timeoutMs);
  }

  /** Approves a pending subscription request by hand (what a user does after a manual prompt). */
  public approve(bare: string) {
    this.stream.write(`<presence type='subscribed'${attrs({ to: bare })}/>`);
  }

  /** The server's command list (disco#items on the commands node), as apps check before showing "Invite". */
  public async commands(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    const domain = this.stream.target.domain;
    const o = await this.stream.iq(
      { type: 'get', to: domain },
      `<query xmlns='http://jabber.org/protocol/disco#items' node='${NS.commands}'/>`,
      timeoutMs
    );
    return (
      o.stanza
        ?.getChild('query')
        ?.getChildren('item')
        .map((i) => i.attrs.node ?? '') ?? []
    );
  }

  /**
   * Runs an XEP-0050 command on the domain, as the apps' "Invite" buttons do:
   * execute; if the server answers with a form (`executing`) and `fields` are
   * given, submit them with the session id.
   */
  public async adhoc(node: string, fields?: Record<string, string>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<AdhocResult> {
    const domain = this.stream.target.domain;
    let outcome = await this.stream.iq(
      { type: 'set', to: domain },
      `<command xmlns='${NS.commands}' node='${esc(node)}' action='execute'/>`,
      timeoutMs
    );
    let command = outcome.stanza?.getChild('command', NS.commands);
    if (outcome.type === 'result' && command?.attrs.status === 'executing' && fields) {
      const form = dataFormFields(command.getChild('x', NS.data));
      const submitted = form
        .filter((f) => f.var)
        .map((f) => fieldXml(f.var, fields[f.var] ?? f.values[0] ?? '', f.type === 'hidden' ? 'hidden' : undefined));
      for (const [k, v] of Object.entries(fields)) if (!form.some((f) => f.var === k)) submitted.push(fieldXml(k, v));
      outcome = await this.stream.iq(
        { type: 'set', to: domain },
        `<command xmlns='${NS.commands}' node='${esc(node)}'${attrs({ sessionid: command.attrs.sessionid })}><x xmlns='${NS.data}' type='submit'>${submitted.join('')}</x></command>`,
        timeoutMs
      );
      command = outcome.stanza?.getChild('command', NS.commands);
    }
    const values: Record<string, string> = {};
    for (const f of dataFormFields(command?.getChild('x', NS.data))) if (f.var) values[f.var] = f.values[0] ?? '';
    return {
      outcome,
      status: command?.attrs.status,
      fields: values,
      notes: command?.getChildren('note').map((n) => ({ type: n.attrs.type ?? 'info', text: n.text() })) ?? [],
    };
  }

  public close() {
    this.stream.close();
  }
}

export class LoginError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'LoginError';
  }
}

/** Logs in (SASL PLAIN + bind) and out: proves the account exists with this password. */
export const appCanLogin = async (target: XmppTarget, jid: string, password: string): Promise<boolean> => {
  try {
    const app = await LoggedInApp.login(target, jid, password);
    app.close();
    return true;
  } catch (e) {
    if (e instanceof LoginError) return false;
    throw e;
  }
};
