/**
 * A hostile (or merely scripted) XMPP server on 127.0.0.1, speaking just
 * enough c2s for a login: stream header, features, STARTTLS, SASL PLAIN and
 * SCRAM, resource binding. It records every byte it receives, in clear and
 * after TLS, so a test can prove what a client did NOT send it.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';

export interface FakeXmppOptions {
  domain: string;
  /** Key and certificate for STARTTLS / direct TLS; none = no TLS at all. */
  tls?: { key: string; cert: string };
  /** Offer <starttls/> in the first features (needs `tls`). */
  starttls?: boolean;
  /** Direct TLS from the first byte (xmpps://). */
  directTls?: boolean;
  mechanisms: string[];
  /** The account the server knows; SCRAM answers are computed from it. */
  password: string;
  iterations?: number;
  /** How the server ends SCRAM: a right signature, a wrong one, or none at all. */
  serverSignature?: 'right' | 'wrong' | 'missing';
}

export interface FakeXmppServer {
  port: number;
  /** Everything received before any TLS, as text. */
  readonly plaintext: string;
  /** Everything received inside TLS, decrypted. */
  readonly decrypted: string;
  /** Both of the above. */
  readonly received: string;
  /** Whether a TLS handshake with a client completed. */
  readonly tlsEstablished: boolean;
  close(): Promise<void>;
}

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** The SCRAM server side, written from RFC 5802 independently of lib/. */
class ScramServer {
  #clientFirstBare = '';
  #serverFirst = '';
  readonly #hash: 'sha1' | 'sha256';
  readonly #salt = randomBytes(16);

  public constructor(
    mechanism: string,
    private readonly password: string,
    private readonly iterations: number
  ) {
    this.#hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha1';
  }

  public first(clientFirst: string): string {
    this.#clientFirstBare = clientFirst.replace(/^[ny],[^,]*,/, '');
    const nonce = /(?:^|,)r=([^,]*)/.exec(this.#clientFirstBare)?.[1] ?? '';
    this.#serverFirst = `r=${nonce}${randomBytes(12).toString('base64')},s=${b64(this.#salt)},i=${this.iterations}`;
    return this.#serverFirst;
  }

  /** Checks the client proof; answers the right server-final, or throws on a bad proof. */
  public final(clientFinal: string, signature: 'right' | 'wrong'): string {
    const withoutProof = clientFinal.replace(/,p=[^,]*$/, '');
    const proof = Buffer.from(/,p=([^,]*)$/.exec(clientFinal)?.[1] ?? '', 'base64');
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const len = this.#hash === 'sha1' ? 20 : 32;
    const salted = pbkdf2Sync(this.password, this.#salt, this.iterations, len, this.#hash);
    const hmac = (k: Buffer, d: string) => createHmac(this.#hash, k).update(d).digest();
    const storedKey = createHash(this.#hash).update(hmac(salted, 'Client Key')).digest();
    const clientSignature = hmac(storedKey, authMessage);
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ (clientSignature[i] ?? 0)));
    const check = createHash(this.#hash).update(clientKey).digest();
    if (proof.length !== len || !timingSafeEqual(check, storedKey)) throw new Error('bad proof');
    const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    if (signature === 'wrong') serverSignature[0] = (serverSignature[0] as number) ^ 0xff;
    return `v=${b64(serverSignature)}`;
  }
}

export const startFakeXmppServer = async (options: FakeXmppOptions): Promise<FakeXmppServer> => {
  let plaintext = '';
  let decrypted = '';
  let tlsEstablished = false;
  const sockets = new Set<Socket>();

  const serve = (socket: Socket | TLSSocket, secure: boolean) => {
    let buffer = '';
    let authenticated = false;
    let scram: ScramServer | undefined;
    const send = (s: string) => {
      if (!socket.destroyed) socket.write(s);
    };
    const features = () => {
      const parts: string[] = [];
      if (authenticated) parts.push('<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>');
      else {
        if (!secure && options.starttls) parts.push('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"><required/></starttls>');
        parts.push(`<mechanisms xmlns="${NS_SASL}">${options.mechanisms.map((m) => `<mechanism>${m}</mechanism>`).join('')}</mechanisms>`);
      }
      return `<stream:features>${parts.join('')}</stream:features>`;
    };
    const fail = (condition: string) => send(`<failure xmlns="${NS_SASL}"><${condition}/></failure>`);

    const handlers: [RegExp, (m: RegExpExecArray) => void | 'stop'][] = [
      [/^<\?xml[^>]*\?>/, () => undefined],
      [
        /^<stream:stream[^>]*>/,
        () =>
          send(
            `<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" id="${randomBytes(4).toString('hex')}" from="${options.domain}" version="1.0">${features()}`
          ),
      ],
      [
        /^<starttls[^>]*?(?:\/>|>\s*<\/starttls>)/,
        () => {
          if (secure || !options.tls) {
            send('<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"/></stream:stream>');
            return 'stop';
          }
          send('<proceed xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
          socket.removeAllListeners('data');
          const tls = new TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert });
          tls.on('secure', () => {
            tlsEstablished = true;
          });
          tls.on('error', () => socket.destroy());
          serve(tls, true);
          return 'stop';
        },
      ],
      [
        /^<auth[^>]*mechanism="([^"]+)"[^>]*?(?:\/>|>([^<]*)<\/auth>)/,
        (m) => {
          const mechanism = m[1] as string;
          const data = unb64(m[2] ?? '');
          if (!options.mechanisms.includes(mechanism)) return fail('invalid-mechanism');
          if (mechanism === 'PLAIN') {
            const [, , pass] = data.split('\0');
            if (pass === options.password) {
              authenticated = true;
              return send(`<success xmlns="${NS_SASL}"/>`);
            }
            return fail('not-authorized');
          }
          scram = new ScramServer(mechanism, options.password, options.iterations ?? 4096);
          send(`<challenge xmlns="${NS_SASL}">${b64(scram.first(data))}</challenge>`);
        },
      ],
      [
        /^<response[^>]*?(?:\/>|>([^<]*)<\/response>)/,
        (m) => {
          if (!scram) return fail('malformed-request');
          let serverFinal: string;
          try {
            serverFinal = scram.final(unb64(m[1] ?? ''), options.serverSignature === 'wrong' ? 'wrong' : 'right');
          } catch {
            return fail('not-authorized');
          }
          // A hostile server "lets us in" whatever the signature says.
          authenticated = true;
          send(
            options.serverSignature === 'missing'
              ? `<success xmlns="${NS_SASL}"/>`
              : `<success xmlns="${NS_SASL}">${b64(serverFinal)}</success>`
          );
        },
      ],
      [/^<abort[^>]*?(?:\/>|>\s*<\/abort>)/, () => fail('aborted')],
      [
        /^<iq[^>]*id="([^"]+)"[^>]*>[\s\S]*?<\/iq>/,
        (m) =>
          send(
            `<iq type="result" id="${m[1]}"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>admin@${options.domain}/fake</jid></bind></iq>`
          ),
      ],
      [
        /^<\/stream:stream>/,
        () => {
          send('</stream:stream>');
          socket.end();
          return 'stop';
        },
      ],
    ];

    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (secure) decrypted += text;
      else plaintext += text;
      buffer += text;
      for (;;) {
        buffer = buffer.trimStart();
        if (!buffer) return;
        let matched = false;
        for (const [re, handle] of handlers) {
          const m = re.exec(buffer);
          if (!m) continue;
          matched = true;
          buffer = buffer.slice(m[0].length);
          if (handle(m) === 'stop') return;
          break;
        }
        if (!matched) return; // wait for the rest of the element
      }
    });
  };

  const server = createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    if (options.directTls && options.tls) {
      const tls = new TLSSocket(raw, { isServer: true, key: options.tls.key, cert: options.tls.cert });
      tls.on('secure', () => {
        tlsEstablished = true;
      });
      tls.on('error', () => raw.destroy());
      serve(tls, true);
    } else {
      serve(raw, false);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get plaintext() {
      return plaintext;
    },
    get decrypted() {
      return decrypted;
    },
    get received() {
      return plaintext + decrypted;
    },
    get tlsEstablished() {
      return tlsEstablished;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};

export interface TestPki {
  dir: string;
  /** PEM of the test CA: what XMPP_TLS_CA_FILE would name. */
  caFile: string;
  /** A certificate for `domain` signed by the CA. */
  trusted: { key: string; cert: string };
  /** A self-signed certificate for `domain`, not in the CA file. */
  selfSigned: { key: string; cert: string };
  /** Signed by the CA, but for another name. */
  wrongName: { key: string; cert: string };
  /** Signed by the CA for IP 127.0.0.1 (an https API reached by address). */
  loopbackIp: { key: string; cert: string };
}

/** A throwaway CA and certificates, made with the openssl CLI. */
export const makeTestPki = (domain: string): TestPki => {
  const dir = mkdtempSync(join(tmpdir(), 'xmpp-tls-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const pem = (name: string) => ({ key: readFileSync(f(`${name}.key`), 'utf8'), cert: readFileSync(f(`${name}.pem`), 'utf8') });
  /** A self-signed certificate, `<name>.key` and `<name>.pem`. */
  const selfSigned = (name: string, subject: string, extensions: string[]) => {
    const addext = extensions.flatMap((e) => ['-addext', e]);
    openssl('req', '-x509', ...ec, '-days', '2', '-subj', subject, ...addext, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`));
    return pem(name);
  };
  selfSigned('ca', '/CN=xmpp-invites test CA', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign']);
  const leaf = (name: string, san: string) => {
    writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    openssl('req', ...ec, '-subj', `/CN=${san.replace(/^\w+:/, '')}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`)
    );
    return pem(name);
  };
  return {
    dir,
    caFile: f('ca.pem'),
    trusted: leaf('trusted', `DNS:${domain}`),
    loopbackIp: leaf('ip', 'IP:127.0.0.1'),
    selfSigned: selfSigned('self', `/CN=${domain}`, [`subjectAltName=DNS:${domain}`]),
    wrongName: leaf('wrongname', `DNS:not-${domain}`),
  };
};
