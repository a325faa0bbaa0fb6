/**
 * Prosody's own invite flow, as a client does it (XEP-0401 + XEP-0379 +
 * XEP-0077 through mod_invites_register): connect, STARTTLS, send the
 * `urn:xmpp:pars:0` preauth IQ with the token, register in-band, then log in
 * with the new account. The registration stream is a few lines of raw XML
 * (xmpp.js's client insists on authenticating first); the login is our
 * XmppConnection, the same client code the product uses.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { XmppConnection } from '../../lib/adapters/xmpp/XmppConnection.js';

export interface NativeTarget {
  host: string;
  port: number;
  domain: string;
  caFile: string;
}

class Reader {
  #buffer = '';
  #waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void }[] = [];

  public attach(socket: Socket | TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#check();
    });
    socket.on('error', (e) => this.#failAll(e));
    socket.on('close', () => this.#failAll(new Error(`stream closed; last data: ${this.#buffer.slice(-300)}`)));
  }

  public detach(socket: Socket | TLSSocket) {
    socket.removeAllListeners('data');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    this.#buffer = '';
  }

  public wait(pattern: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${pattern}; got ${this.#buffer.slice(-300)}`)), timeoutMs);
      this.#waiters.push({
        pattern,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#check();
    });
  }

  #check() {
    const waiter = this.#waiters[0];
    if (!waiter) return;
    const m = waiter.pattern.exec(this.#buffer);
    if (!m) return;
    this.#buffer = this.#buffer.slice(m.index + m[0].length);
    this.#waiters.shift();
    waiter.resolve(m);
    this.#check();
  }

  #failAll(e: Error) {
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }
}

const streamHeader = (domain: string) =>
  `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`;

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/** Where one run of the flow spent its time (ms). */
export interface FlowSteps {
  /** TCP, stream, STARTTLS, TLS handshake, stream restart with features. */
  connect: number;
  preauth: number;
  register: number;
  login: number;
}

/** Steps 1-3: connect + STARTTLS, preauth IQ, in-band registration. */
export const registerWithToken = async (
  target: NativeTarget,
  token: string,
  username: string,
  password: string,
  steps?: Partial<FlowSteps>
) => {
  let mark = performance.now();
  const lap = (step: keyof FlowSteps) => {
    const now = performance.now();
    if (steps) steps[step] = now - mark;
    mark = now;
  };
  const ca = readFileSync(target.caFile);
  const reader = new Reader();
  const tcp = connect({ host: target.host, port: target.port });
  await new Promise<void>((resolve, reject) => {
    tcp.once('connect', resolve);
    tcp.once('error', reject);
  });
  reader.attach(tcp);
  tcp.write(streamHeader(target.domain));
  await reader.wait(/<\/stream:features>/);
  tcp.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
  await reader.wait(/<proceed[^>]*\/>/);
  reader.detach(tcp);
  const tls = tlsConnect({ socket: tcp, servername: target.domain, ca });
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', resolve);
    tls.once('error', reject);
  });
  reader.attach(tls);
  try {
    tls.write(streamHeader(target.domain));
    const features = await reader.wait(/<stream:features[\s\S]*?<\/stream:features>/);
    if (!features[0].includes('urn:xmpp:ibr-token:0')) throw new Error('the server does not offer invite registration');
    lap('connect');
    tls.write(`<iq type='set' id='pa1'><preauth xmlns='urn:xmpp:pars:0' token='${escapeXml(token)}'/></iq>`);
    const preauth = await reader.wait(/<iq[^>]*id=["']pa1["'][\s\S]*?(?:\/>|<\/iq>)/);
    if (!/type=["']result["']/.test(preauth[0])) throw new Error(`preauth refused: ${preauth[0]}`);
    lap('preauth');
    tls.write(
      `<iq type='set' id='rg1'><query xmlns='jabber:iq:register'><username>${escapeXml(username)}</username><password>${escapeXml(password)}</password></query></iq>`
    );
    const reg = await reader.wait(/<iq[^>]*id=["']rg1["'][\s\S]*?(?:\/>|<\/iq>)/);
    if (!/type=["']result["']/.test(reg[0])) throw new Error(`registration refused: ${reg[0]}`);
    lap('register');
    tls.write('</stream:stream>');
  } finally {
    reader.detach(tls);
    tls.destroy();
  }
};

/** Step 4: the new account logs in (SASL PLAIN over TLS, resource bound). */
export const login = async (target: NativeTarget, jid: string, password: string) => {
  const c = new XmppConnection({
    service: `xmpp://${target.host}:${target.port}`,
    jid,
    password: () => password,
    timeoutMs: 5000,
    tlsCaFile: target.caFile,
  });
  try {
    await c.connect();
  } finally {
    await c.close();
  }
};

/** The whole native flow, timed end to end by the caller. */
export const nativeRedeem = async (target: NativeTarget, token: string, username: string, password: string, steps?: Partial<FlowSteps>) => {
  await registerWithToken(target, token, username, password, steps);
  const t = performance.now();
  await login(target, `${username}@${target.domain}`, password);
  if (steps) steps.login = performance.now() - t;
};
