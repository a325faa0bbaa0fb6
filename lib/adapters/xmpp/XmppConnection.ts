/**
 * A minimal c2s client assembled from xmpp.js parts, for server-side use:
 * - no reconnect module: a Lambda must never reconnect in the background;
 *   the next call reconnects on demand;
 * - SASL PLAIN over TLS (or on loopback), else a SCRAM-SHA-1 whose PBKDF2
 *   runs in Node's native crypto (xmpp.js's own takes ~0.6 s of CPU);
 * - STARTTLS with an optional CA (xmpp.js has no option for one);
 * - our own IQ tracking, so an IQ error that arrives before send() resolves
 *   never becomes an unhandled rejection.
 */
import { pbkdf2 } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { Client } from '@xmpp/client-core';
import _tcp from '@xmpp/tcp';
import _tls from '@xmpp/tls';
import TlsSocket from '@xmpp/tls/lib/Socket.js';
import _middleware from '@xmpp/middleware';
import _streamFeatures from '@xmpp/stream-features';
import _iqCaller from '@xmpp/iq/caller.js';
import _sasl from '@xmpp/sasl';
import _resourceBinding from '@xmpp/resource-binding';
import xml from '@xmpp/xml';
import SASLFactory from 'saslmechanisms';
import ScramSha1 from 'sasl-scram-sha-1';
import Plain from 'sasl-plain';
import { InviteError } from '../../errors.js';

const pbkdf2Async = promisify(pbkdf2);
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';

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

/** SCRAM-SHA-1 with the PBKDF2 rounds in native code; the rest stays xmpp.js's. */
function FastScramSha1(this: Record<string, unknown>, options?: unknown) {
  ScramSha1.call(this, options);
}
FastScramSha1.prototype = Object.create(ScramSha1.prototype);
FastScramSha1.prototype.response = async function (this: Record<string, unknown>, cred: Record<string, unknown>) {
  if (this._stage === 'challenge') {
    const salt = this._salt as Uint8Array;
    const salted = await pbkdf2Async(String(cred.password ?? ''), salt, Number(this._iterationCount), 20, 'sha1');
    // The library reuses "cached" credentials when the salt matches.
    cred = { ...cred, salt, saltedPassword: new Uint8Array(salted), clientKey: undefined, serverKey: undefined };
  }
  return ScramSha1.prototype.response.call(this, cred);
};

export interface XmppConnectionOptions {
  /** `xmpp://host:port` (STARTTLS when offered) or `xmpps://host:port`. */
  service: string;
  /** Bare JID to log in as. */
  jid: string;
  password: () => Promise<string> | string;
  timeoutMs: number;
  /** PEM file of an extra CA to trust (self-signed local servers). */
  tlsCaFile?: string;
}

const isLoopback = (host: string) => host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '[::1]';

type Pending = { resolve: (el: XmlElement) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class XmppConnection {
  readonly #options: XmppConnectionOptions;
  #entity: any;
  #starting: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  #counter = 0;

  public constructor(options: XmppConnectionOptions) {
    this.#options = options;
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
    const host = new URL(service.replace(/^xmpps?:/, 'http:')).hostname;
    let ca: Buffer | undefined;
    try {
      ca = tlsCaFile ? readFileSync(tlsCaFile) : undefined;
    } catch {
      throw new InviteError('xmpp-unavailable', 'cannot read the configured XMPP TLS CA file', { retryAfter: 300 });
    }

    const entity = new Client({ service, domain, timeout: timeoutMs });
    _tcp({ entity });
    _tls({ entity });
    const middleware = _middleware({ entity });
    const streamFeatures = _streamFeatures({ middleware });
    const iqCaller = _iqCaller({ middleware, entity });
    const saslFactory = new SASLFactory();
    saslFactory.use('SCRAM-SHA-1', FastScramSha1);
    saslFactory.use(Plain);

    // STARTTLS, with our CA and the domain as the certificate name.
    streamFeatures.use('starttls', NS_TLS, async ({ entity: e }: { entity: any }) => {
      const element = await e.sendReceive(x('starttls', { xmlns: NS_TLS }));
      if (element.name !== 'proceed') throw new Error('STARTTLS_FAILURE');
      const socket = new TlsSocket();
      socket.connect({ socket: e.socket, host: isIP(host) ? undefined : host, servername: domain, ca });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      e._attachSocket(socket);
      await e.restart();
    });
    const password = await this.#options.password();
    _sasl({ streamFeatures, saslFactory }, async (authenticate: any, mechanisms: string[]) => {
      const plainOk = mechanisms.includes('PLAIN') && (entity.isSecure() || isLoopback(host));
      const mechanism = plainOk ? 'PLAIN' : mechanisms.find((m) => m === 'SCRAM-SHA-1');
      if (!mechanism) throw new InviteError('xmpp-unavailable', 'no usable SASL mechanism offered');
      await authenticate({ username: local, password }, mechanism);
    });
    _resourceBinding({ iqCaller, streamFeatures });

    entity.on('error', () => {
      // Errors surface through start() or the pending IQs; never throw from here.
    });
    entity.on('offline', () => this.#dropped(entity));
    entity.on('disconnect', () => this.#dropped(entity));
    entity.on('stanza', (stanza: XmlElement) => this.#onStanza(entity, stanza));

    this.#entity = entity;
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
      reply.children.push(
        x('error', { type: 'cancel' }, x('service-unavailable', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))
      );
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
  const condition =
    error?.children.find((c): c is XmlElement => typeof c !== 'string' && c.name !== 'text')?.name ?? 'undefined-condition';
  return new XmppStanzaError(condition, error?.attrs.type ?? 'cancel', error?.getChildText('text') ?? undefined);
};

/** Connection-level failures, with no secret in the message. */
const unavailable = (cause: unknown): InviteError => {
  if (cause instanceof InviteError) return cause;
  const e = cause as { name?: string; condition?: string; code?: string };
  if (e?.name === 'SASLError') {
    return new InviteError('xmpp-unavailable', `the XMPP server refused the login (${e.condition})`, {
      retryAfter: 30,
      details: { sasl: e.condition },
    });
  }
  return new InviteError('xmpp-unavailable', `cannot reach the XMPP server (${e?.code ?? e?.name ?? 'error'})`, {
    retryAfter: 5,
  });
};
