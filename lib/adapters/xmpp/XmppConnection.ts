/**
 * A minimal c2s client assembled from xmpp.js parts, for server-side use:
 * - no reconnect module: a Lambda must never reconnect in the background;
 *   the next call reconnects on demand;
 * - TLS cannot be stripped: off loopback, a server that offers no STARTTLS
 *   is refused before any SASL byte; certificates are verified against the
 *   system CAs plus the configured CA file, for the XMPP domain's name;
 * - our own SASL (sasl.ts, scram.ts): the server must prove it knows the
 *   password, and PLAIN only inside TLS (or on loopback);
 * - our own IQ tracking, so an IQ error that arrives before send() resolves
 *   never becomes an unhandled rejection.
 */
import type { ConnectionOptions, SecureContext } from 'node:tls';
import { Client } from '@xmpp/client-core';
import _tcp from '@xmpp/tcp';
import _middleware from '@xmpp/middleware';
import _streamFeatures from '@xmpp/stream-features';
import _iqCaller from '@xmpp/iq/caller.js';
import _resourceBinding from '@xmpp/resource-binding';
import { InviteError, markNotSent } from '../../errors.js';
import { NS_SASL, authenticate, chooseMechanism } from './sasl.js';
import { type XmlElement, XmppAuthError, stanzaError, x } from './stanzas.js';
import { hostOf, tlsRequiredFor, trustedContext } from './tlsPolicy.js';
import { upgradeToTls, verifiedDirectTls } from './transports.js';

export { chooseMechanism } from './sasl.js';
export { type XmlElement, XmppAuthError, XmppStanzaError, x } from './stanzas.js';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_STREAM = 'http://etherx.jabber.org/streams';

export interface XmppConnectionOptions {
  /** `xmpp://host:port` (STARTTLS) or `xmpps://host:port` (direct TLS). */
  service: string;
  /** Bare JID to log in as. */
  jid: string;
  password: () => Promise<string> | string;
  timeoutMs: number;
  /** PEM file of an extra CA to trust (self-signed local servers), on top of the system CAs. */
  tlsCaFile?: string;
  /**
   * Refuse to log in without TLS. Defaults to "the host is not loopback"
   * (tlsPolicy.ts); tests force it to exercise that path on loopback.
   */
  requireTls?: boolean;
}

type Pending = { resolve: (el: XmlElement) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class XmppConnection {
  readonly #options: XmppConnectionOptions;
  #entity: any;
  #starting: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  #counter = 0;
  #mechanism: string | undefined;

  public constructor(options: XmppConnectionOptions) {
    this.#options = options;
  }

  /** The SASL mechanism of the current session (observability and tests). */
  public get mechanism(): string | undefined {
    return this.online ? this.#mechanism : undefined;
  }

  public get online(): boolean {
    return this.#entity?.status === 'online';
  }

  /** Sends an IQ and resolves with the result stanza; rejects with XmppStanzaError or `xmpp-unavailable`. */
  public async iq(stanza: XmlElement, timeoutMs = this.#options.timeoutMs): Promise<XmlElement> {
    await this.connect();
    const entity = this.#entity;
    const id = `inv${++this.#counter}`;
    stanza.attrs.id = id;
    const answer = new Promise<XmlElement>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new InviteError('xmpp-unavailable', 'the XMPP server did not answer in time', { retryAfter: 5 }));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    // Handled from the start: an error may arrive before send() resolves.
    answer.catch(() => undefined);
    try {
      await entity.send(stanza);
    } catch (cause) {
      this.#fail(id, unavailable(cause));
    }
    return answer;
  }

  /** The bare JID this connection logs in as. */
  public get jid(): string {
    return this.#options.jid;
  }

  /** Sends a stanza that has no answer (presence); `xmpp-unavailable` if it cannot be sent. */
  public async send(stanza: XmlElement): Promise<void> {
    await this.connect();
    try {
      await this.#entity.send(stanza);
    } catch (cause) {
      throw unavailable(cause);
    }
  }

  /** Connects if not online; concurrent callers share one attempt. */
  public async connect(): Promise<void> {
    if (this.online) return;
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  public async close(): Promise<void> {
    const entity = this.#entity;
    this.#entity = undefined;
    this.#rejectAll(new InviteError('xmpp-unavailable', 'connection closed', { retryAfter: 1 }));
    if (entity) await entity.stop().catch(() => undefined);
  }

  async #start(): Promise<void> {
    const { service, jid, timeoutMs, tlsCaFile } = this.#options;
    const [local, domain] = jid.split('@') as [string, string];
    const requireTls = this.#options.requireTls ?? tlsRequiredFor(hostOf(service));
    let secureContext: SecureContext;
    try {
      secureContext = trustedContext(tlsCaFile);
    } catch {
      throw new InviteError('xmpp-unavailable', 'cannot read the configured XMPP TLS CA file', { retryAfter: 300 });
    }
    // The certificate must name the XMPP domain (RFC 6120 §13.7.2.1), not
    // whatever host the service URL dials.
    const tlsOptions: ConnectionOptions = { secureContext, servername: domain, rejectUnauthorized: true };

    const entity = new Client({ service, domain, timeout: timeoutMs });
    _tcp({ entity });
    entity.transports.push(verifiedDirectTls(tlsOptions));
    const middleware = _middleware({ entity });
    let authenticated = false;
    // Runs before every feature handler: decides whether this stream may go on at all.
    middleware.use(async (ctx: { stanza: XmlElement & { is(n: string, ns: string): boolean } }, next: () => Promise<unknown>) => {
      const features = ctx.stanza;
      if (!features.is('features', NS_STREAM)) return next();
      const secure = entity.isSecure();
      const starttls = !secure && Boolean(features.getChild('starttls', NS_TLS));
      if (!secure && requireTls && !starttls) {
        throw new InviteError('xmpp-unavailable', 'the XMPP server does not offer STARTTLS: refusing to log in without TLS', {
          retryAfter: 300,
        });
      }
      // A server that skips SASL would hand us a session we never authenticated.
      if (!authenticated && !starttls && !features.getChild('mechanisms', NS_SASL)) {
        throw new XmppAuthError('no-sasl', 'the XMPP server offers no SASL login');
      }
      return next();
    });
    const streamFeatures = _streamFeatures({ middleware });
    const iqCaller = _iqCaller({ middleware, entity });

    streamFeatures.use('starttls', NS_TLS, async (_ctx: unknown, next: () => Promise<unknown>) => {
      if (entity.isSecure()) return next();
      const answer = await entity.sendReceive(x('starttls', { xmlns: NS_TLS }));
      if (answer.name !== 'proceed') {
        throw new InviteError('xmpp-unavailable', 'the XMPP server refused STARTTLS', { retryAfter: 30 });
      }
      entity._attachSocket(await upgradeToTls(entity.socket, tlsOptions, timeoutMs));
      await entity.restart();
    });
    const password = await this.#options.password();
    streamFeatures.use('mechanisms', NS_SASL, async (_ctx: unknown, _next: unknown, element: XmlElement) => {
      const secure = entity.isSecure();
      // The guard above already stopped this; kept so SASL never depends on it.
      if (requireTls && !secure) throw new XmppAuthError('tls-required', 'refusing to log in without TLS');
      const offered = element.getChildren('mechanism', NS_SASL).map((m) => m.text().trim());
      const mechanism = chooseMechanism(offered, { secure, requireTls });
      if (!mechanism) throw new XmppAuthError('no-usable-mechanism', 'the XMPP server offers no SASL mechanism we accept');
      await authenticate(entity, mechanism, local, password, timeoutMs);
      authenticated = true;
      this.#mechanism = mechanism;
      await entity.restart();
    });
    _resourceBinding({ iqCaller, streamFeatures });

    entity.on('error', () => {
      // Errors surface through start() or the pending IQs; never throw from here.
    });
    entity.on('offline', () => this.#dropped(entity));
    entity.on('disconnect', () => this.#dropped(entity));
    entity.on('stanza', (stanza: XmlElement) => this.#onStanza(entity, stanza));

    this.#entity = entity;
    this.#mechanism = undefined;
    try {
      await entity.start();
    } catch (cause) {
      this.#entity = undefined;
      // A failed start leaves the socket open until stop().
      await entity.stop().catch(() => undefined);
      // Nothing was sent: the IQ that asked for this connection never left.
      throw markNotSent(unavailable(cause));
    }
  }

  #onStanza(entity: any, stanza: XmlElement): void {
    if (stanza.name !== 'iq') return;
    const { type, id } = stanza.attrs;
    if (type === 'result' || type === 'error') {
      const pending = id ? this.#pending.get(id) : undefined;
      if (!pending) return;
      if (type === 'result') {
        this.#settle(id as string);
        pending.resolve(stanza);
      } else {
        this.#fail(id as string, stanzaError(stanza));
      }
      return;
    }
    // Answer pings and roster pushes (the server sends them once we read our
    // own roster, RFC 6121 2.1.6); refuse any other request (RFC 6120 requires an answer).
    const from = stanza.attrs.from;
    const isRosterPush =
      type === 'set' && stanza.getChild('query', 'jabber:iq:roster') !== undefined && (!from || from === this.#options.jid);
    const ok = Boolean(stanza.getChild('ping', 'urn:xmpp:ping')) || isRosterPush;
    const reply = x('iq', { type: ok ? 'result' : 'error', id, to: from });
    if (!ok) {
      reply.children.push(x('error', { type: 'cancel' }, x('service-unavailable', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
    }
    entity.send(reply).catch(() => undefined);
  }

  #settle(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
    }
    return pending;
  }

  #fail(id: string, error: Error): void {
    this.#settle(id)?.reject(error);
  }

  #rejectAll(error: Error): void {
    for (const id of [...this.#pending.keys()]) this.#fail(id, error);
  }

  #dropped(entity: unknown): void {
    if (this.#entity !== entity) return;
    this.#entity = undefined;
    this.#rejectAll(new InviteError('xmpp-unavailable', 'lost the connection to the XMPP server', { retryAfter: 1 }));
  }
}

/** Connection-level failures, with no secret and no protocol detail in the public part. */
const unavailable = (cause: unknown): InviteError => {
  if (cause instanceof InviteError) return cause;
  if (cause instanceof XmppAuthError) {
    // The condition stays on the cause: ProsodyProvisioner.verifyPassword reads it, HTTP never does.
    return new InviteError('xmpp-unavailable', 'the XMPP server refused the login', { retryAfter: 30, cause });
  }
  const e = cause as { name?: string; code?: string };
  return new InviteError('xmpp-unavailable', `cannot reach the XMPP server (${e?.code ?? e?.name ?? 'error'})`, {
    retryAfter: 5,
    cause,
  });
};
