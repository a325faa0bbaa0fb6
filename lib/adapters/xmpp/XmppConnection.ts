/**
 * A minimal c2s client assembled from xmpp.js parts, for server-side use:
 * - no reconnect module: a Lambda must never reconnect in the background;
 *   the next call reconnects on demand;
 * - TLS cannot be stripped: off loopback, a server that offers no STARTTLS
 *   is refused before any SASL byte; certificates are verified against the
 *   system CAs plus the configured CA file, for the XMPP domain's name;
 * - our own SASL: SCRAM-SHA-256 > SCRAM-SHA-1 (see scram.ts: the server must
 *   prove it knows the password, cheap iteration counts are refused) > PLAIN,
 *   and PLAIN only inside TLS (or on loopback). xmpp.js's SASL never reads
 *   the server signature sent with <success/>, so it cannot do this;
 * - our own IQ tracking, so an IQ error that arrives before send() resolves
 *   never becomes an unhandled rejection.
 */
import type { ConnectionOptions } from 'node:tls';
import { Client } from '@xmpp/client-core';
import _tcp from '@xmpp/tcp';
import ConnectionTLS from '@xmpp/tls/lib/Connection.js';
import TlsSocket from '@xmpp/tls/lib/Socket.js';
import _middleware from '@xmpp/middleware';
import _streamFeatures from '@xmpp/stream-features';
import _iqCaller from '@xmpp/iq/caller.js';
import _resourceBinding from '@xmpp/resource-binding';
import xml from '@xmpp/xml';
import { InviteError } from '../../errors.js';
import { ScramClient, ScramError, type ScramMechanism } from './scram.js';
import { hostOf, tlsRequiredFor, trustedCas } from './tlsPolicy.js';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_STREAM = 'http://etherx.jabber.org/streams';

export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  getChild(name: string, ns?: string): XmlElement | undefined;
  getChildren(name: string, ns?: string): XmlElement[];
  getChildText(name: string, ns?: string): string | null;
  text(): string;
}

export const x = xml as (name: string, attrs?: Record<string, string | undefined>, ...children: unknown[]) => XmlElement;

/** An IQ error answer, keeping its protocol fields. */
export class XmppStanzaError extends Error {
  public constructor(
    public readonly condition: string,
    public readonly type: string,
    public readonly text?: string
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'XmppStanzaError';
  }
}

/**
 * A login that did not happen, with its SASL condition (`not-authorized`,
 * or our own refusal such as `server-signature-mismatch`). Internal: it
 * travels as the `cause` of a public `xmpp-unavailable`, never in its body.
 */
export class XmppAuthError extends Error {
  public constructor(
    public readonly condition: string,
    message: string
  ) {
    super(message);
    this.name = 'XmppAuthError';
  }
}

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

/** Best first; PLAIN hands the password over, so only inside TLS (or on tolerated plaintext). */
export const chooseMechanism = (
  offered: string[],
  stream: { secure: boolean; requireTls: boolean }
): ScramMechanism | 'PLAIN' | undefined => {
  if (offered.includes('SCRAM-SHA-256')) return 'SCRAM-SHA-256';
  if (offered.includes('SCRAM-SHA-1')) return 'SCRAM-SHA-1';
  if (offered.includes('PLAIN') && (stream.secure || !stream.requireTls)) return 'PLAIN';
  return undefined;
};

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
    let ca: string[];
    try {
      ca = trustedCas(tlsCaFile);
    } catch {
      throw new InviteError('xmpp-unavailable', 'cannot read the configured XMPP TLS CA file', { retryAfter: 300 });
    }
    // The certificate must name the XMPP domain (RFC 6120 §13.7.2.1), not
    // whatever host the service URL dials.
    const tlsOptions: ConnectionOptions = { ca, servername: domain, rejectUnauthorized: true };

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
      throw unavailable(cause);
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

const stanzaError = (stanza: XmlElement): XmppStanzaError => {
  const error = stanza.getChild('error');
  const condition = error?.children.find((c): c is XmlElement => typeof c !== 'string' && c.name !== 'text')?.name ?? 'undefined-condition';
  return new XmppStanzaError(condition, error?.attrs.type ?? 'cancel', error?.getChildText('text') ?? undefined);
};

/** The direct-TLS transport (`xmpps://`) of xmpp.js, with our certificate checks. */
const verifiedDirectTls = (tlsOptions: ConnectionOptions) =>
  class VerifiedDirectTls extends ConnectionTLS {
    public socketParameters(service: string) {
      const params = super.socketParameters(service);
      return params && { ...params, ...tlsOptions };
    }
  };

/** STARTTLS: wraps the plaintext socket; resolves only once the certificate is verified. */
const upgradeToTls = (plain: unknown, tlsOptions: ConnectionOptions, timeoutMs: number): Promise<unknown> => {
  const socket = new TlsSocket();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.socket?.destroy();
      reject(new InviteError('xmpp-unavailable', 'the TLS handshake with the XMPP server timed out', { retryAfter: 5 }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (cause: { code?: string }) => {
      clearTimeout(timer);
      // The plaintext socket must not carry anything more (not even our stream close).
      socket.socket?.destroy();
      (plain as { destroy?: () => void }).destroy?.();
      reject(
        new InviteError('xmpp-unavailable', `TLS with the XMPP server failed (${cause?.code ?? 'handshake error'})`, {
          retryAfter: 30,
          cause,
        })
      );
    });
    socket.connect({ ...tlsOptions, socket: plain });
  });
};

/** Next SASL element from the server, failing on a timeout or a dropped stream. */
const saslReader = (entity: any, timeoutMs: number) => {
  const queue: XmlElement[] = [];
  let waiting: { resolve: (el: XmlElement) => void; reject: (e: Error) => void } | undefined;
  const onNonza = (el: XmlElement) => {
    if (el.attrs.xmlns !== NS_SASL) return;
    const w = waiting;
    waiting = undefined;
    if (w) w.resolve(el);
    else queue.push(el);
  };
  const onGone = () => {
    const w = waiting;
    waiting = undefined;
    w?.reject(new InviteError('xmpp-unavailable', 'the XMPP server closed the connection during login', { retryAfter: 5 }));
  };
  entity.on('nonza', onNonza);
  entity.on('disconnect', onGone);
  entity.on('error', onGone);
  return {
    next: (): Promise<XmlElement> => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          reject(new InviteError('xmpp-unavailable', 'the XMPP server did not answer the login in time', { retryAfter: 5 }));
        }, timeoutMs);
        waiting = {
          resolve: (el) => {
            clearTimeout(timer);
            resolve(el);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
    },
    close: () => {
      onGone();
      entity.removeListener('nonza', onNonza);
      entity.removeListener('disconnect', onGone);
      entity.removeListener('error', onGone);
    },
  };
};

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s.trim(), 'base64').toString('utf8');

/** A SASL <failure/> (or any unexpected answer) as an internal error. */
const refused = (el: XmlElement): XmppAuthError => {
  if (el.name !== 'failure') return new XmppAuthError('unexpected-answer', `unexpected SASL <${el.name}/> from the XMPP server`);
  const condition = el.children.find((c): c is XmlElement => typeof c !== 'string' && c.name !== 'text')?.name;
  const safe = condition && /^[a-z-]{1,64}$/.test(condition) ? condition : 'undefined-condition';
  return new XmppAuthError(safe, `the XMPP server refused the login (${safe})`);
};

/**
 * RFC 6120 §6 driven by hand: xmpp.js's SASL ignores the data of <success/>,
 * where SCRAM's server signature travels.
 */
const authenticate = async (
  entity: any,
  mechanism: ScramMechanism | 'PLAIN',
  username: string,
  password: string,
  timeoutMs: number
): Promise<void> => {
  const reader = saslReader(entity, timeoutMs);
  try {
    if (mechanism === 'PLAIN') {
      await entity.send(x('auth', { xmlns: NS_SASL, mechanism }, b64(`\0${username}\0${password}`)));
      const answer = await reader.next();
      if (answer.name !== 'success') throw refused(answer);
      return;
    }
    const scram = new ScramClient(mechanism, username, password);
    await entity.send(x('auth', { xmlns: NS_SASL, mechanism }, b64(scram.clientFirst())));
    let answer = await reader.next();
    if (answer.name !== 'challenge') throw refused(answer);
    let final: string;
    try {
      final = await scram.clientFinal(unb64(answer.text()));
    } catch (e) {
      // Tell the server we give up (RFC 6120 §6.4.5); nothing derived from the password was sent.
      await entity.send(x('abort', { xmlns: NS_SASL })).catch(() => undefined);
      throw e;
    }
    await entity.send(x('response', { xmlns: NS_SASL }, b64(final)));
    answer = await reader.next();
    // Some servers send server-final as one more challenge (RFC 6120 §6.3.10).
    if (answer.name === 'challenge') {
      scram.verifyServerFinal(unb64(answer.text()));
      await entity.send(x('response', { xmlns: NS_SASL }));
      answer = await reader.next();
    }
    if (answer.name !== 'success') throw refused(answer);
    const data = answer.text().trim();
    if (data && data !== '=') scram.verifyServerFinal(unb64(data));
    // <success/> without a signature proves nothing about the server.
    if (!scram.serverVerified) throw new XmppAuthError('server-signature-missing', 'the XMPP server did not prove it knows the password');
  } catch (e) {
    if (e instanceof ScramError) throw new XmppAuthError(e.reason, e.message);
    throw e;
  } finally {
    reader.close();
  }
};

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
