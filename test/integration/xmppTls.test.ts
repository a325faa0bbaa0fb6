/**
 * TLS to the XMPP server cannot be stripped (issue #10, point 3). A fake
 * server on loopback plays the man in the middle; `requireTls: true` makes
 * the client treat it as the remote server it pretends to be. Each bad case
 * proves the admin password (and, where it matters, the SCRAM proof) never
 * reached it.
 */
import { rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InviteError } from '../../lib/errors.js';
import { errorBody } from '../../functions/http/route.js';
import { XmppAuthError, XmppConnection } from '../../lib/adapters/xmpp/XmppConnection.js';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { makeTestPki, startFakeXmppServer, type FakeXmppOptions, type FakeXmppServer, type TestPki } from '../support/fakeXmppServer.js';
import { prosodyAdmin, stack } from '../support/stack.js';

const DOMAIN = 'fake.example';
const PASSWORD = 'admin-Secret-\u00e9-42';
let pki: TestPki;
let server: FakeXmppServer | undefined;
let client: XmppConnection | undefined;

beforeAll(() => {
  pki = makeTestPki(DOMAIN);
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

const start = async (options: Partial<FakeXmppOptions>, clientOptions: { requireTls?: boolean; scheme?: string } = {}) => {
  server = await startFakeXmppServer({ domain: DOMAIN, mechanisms: ['SCRAM-SHA-1'], password: PASSWORD, ...options });
  client = new XmppConnection({
    service: `${clientOptions.scheme ?? 'xmpp'}://127.0.0.1:${server.port}`,
    jid: `admin@${DOMAIN}`,
    password: () => PASSWORD,
    timeoutMs: 3000,
    tlsCaFile: pki.caFile,
    // Forced on by default: the fake server on loopback plays a remote one.
    requireTls: 'requireTls' in clientOptions ? clientOptions.requireTls : true,
  });
  return { server, client };
};

/** The connect error, which must be a public xmpp-unavailable with nothing but public facts. */
const refusal = async (c: XmppConnection): Promise<InviteError> => {
  const error = await c.connect().then(
    () => undefined,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(InviteError);
  const e = error as InviteError;
  expect(e.code).toBe('xmpp-unavailable');
  expect(e.details).toBeUndefined();
  expect(JSON.stringify(errorBody(e))).not.toContain(PASSWORD);
  expect(c.online).toBe(false);
  return e;
};

/** The password never left the client, in any encoding a server could read. */
const expectNoSecret = (s: FakeXmppServer) => {
  for (const form of [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\0admin\0${PASSWORD}`).toString('base64')]) {
    expect(s.received).not.toContain(form);
  }
};

describe('without TLS where TLS is required', () => {
  it('a server that offers no STARTTLS gets no SASL byte', async () => {
    const { server: s, client: c } = await start({ mechanisms: ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'] });
    const e = await refusal(c);
    expect(e.message).toMatch(/STARTTLS/);
    expect(s.plaintext).toContain('<stream:stream');
    expect(s.received).not.toContain('<auth');
    expectNoSecret(s);
  });

  it('PLAIN offered in clear is refused, even as the only mechanism', async () => {
    const { server: s, client: c } = await start({ mechanisms: ['PLAIN'] });
    await refusal(c);
    expect(s.received).not.toContain('<auth');
    expectNoSecret(s);
  });

  it('on loopback (the default) plaintext is tolerated, but SCRAM still beats PLAIN', async () => {
    const { server: s, client: c } = await start({ mechanisms: ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'] }, { requireTls: undefined });
    await c.connect();
    expect(c.online).toBe(true);
    expect(c.mechanism).toBe('SCRAM-SHA-256');
    expectNoSecret(s);
  });
});

describe('certificate verification', () => {
  it('a self-signed certificate not in the CA file: TLS fails, nothing follows STARTTLS', async () => {
    const { server: s, client: c } = await start({ tls: pki.selfSigned, starttls: true });
    const e = await refusal(c);
    expect(e.message).toMatch(/TLS/);
    expect(s.plaintext).toContain('<starttls');
    expect(s.tlsEstablished).toBe(false);
    expect(s.decrypted).toBe('');
    const afterStarttls = s.plaintext.slice(s.plaintext.indexOf('<starttls'));
    expect(afterStarttls).not.toContain('<auth');
    expectNoSecret(s);
  });

  it('a certificate from a trusted CA but for another name is refused', async () => {
    const { server: s, client: c } = await start({ tls: pki.wrongName, starttls: true });
    await refusal(c);
    expect(s.decrypted).toBe('');
    expectNoSecret(s);
  });

  it('direct TLS (xmpps://) verifies the certificate too', async () => {
    const { server: s, client: c } = await start({ tls: pki.selfSigned, directTls: true }, { scheme: 'xmpps' });
    await refusal(c);
    expect(s.decrypted).toBe('');
    expectNoSecret(s);
  });

  it('direct TLS with a trusted certificate logs in', async () => {
    const { client: c } = await start({ tls: pki.trusted, directTls: true, mechanisms: ['SCRAM-SHA-256'] }, { scheme: 'xmpps' });
    await c.connect();
    expect(c.mechanism).toBe('SCRAM-SHA-256');
  });
});

describe('SCRAM checks the server', () => {
  it('an iteration count of 1 is refused before the client proof is sent', async () => {
    const { server: s, client: c } = await start({ tls: pki.trusted, starttls: true, iterations: 1 });
    const e = await refusal(c);
    expect(e.cause).toBeInstanceOf(XmppAuthError);
    expect((e.cause as XmppAuthError).condition).toBe('iterations-too-low');
    expect(s.tlsEstablished).toBe(true);
    expect(s.decrypted).toContain('<auth');
    expect(s.decrypted).not.toContain('<response');
    expect(s.decrypted).toContain('<abort');
    expectNoSecret(s);
  });

  it('a wrong server signature fails the login: never authenticated, no session', async () => {
    const { server: s, client: c } = await start({
      tls: pki.trusted,
      starttls: true,
      mechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-256'],
      serverSignature: 'wrong',
    });
    const e = await refusal(c);
    expect((e.cause as XmppAuthError).condition).toBe('server-signature-mismatch');
    expect(s.decrypted).toContain('mechanism="SCRAM-SHA-256"');
    // No stream restart and no resource binding after the fake <success/>.
    expect(s.decrypted).not.toContain('<iq');
    expect(s.decrypted.match(/<stream:stream/g)).toHaveLength(1);
    expect(c.mechanism).toBeUndefined();
    expectNoSecret(s);
  });

  it('a <success/> without any server signature is not a login', async () => {
    const { server: s, client: c } = await start({ tls: pki.trusted, starttls: true, serverSignature: 'missing' });
    const e = await refusal(c);
    expect((e.cause as XmppAuthError).condition).toBe('server-signature-missing');
    expect(s.decrypted).not.toContain('<iq');
  });

  it('a wrong password is a not-authorized refusal kept off the public error', async () => {
    const { client: c } = await start({ tls: pki.trusted, starttls: true, password: 'something else entirely' });
    const e = await refusal(c);
    expect((e.cause as XmppAuthError).condition).toBe('not-authorized');
    expect(JSON.stringify(errorBody(e))).not.toContain('not-authorized');
  });

  it('STARTTLS with a trusted certificate and a correct SCRAM-SHA-256 exchange logs in; PLAIN is not used', async () => {
    const { server: s, client: c } = await start({
      tls: pki.trusted,
      starttls: true,
      mechanisms: ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'],
    });
    await c.connect();
    expect(c.online).toBe(true);
    expect(c.mechanism).toBe('SCRAM-SHA-256');
    expect(s.plaintext).not.toContain('<auth');
    expectNoSecret(s);
  });

  it('PLAIN inside verified TLS is allowed when it is all the server offers', async () => {
    const { server: s, client: c } = await start({ tls: pki.trusted, starttls: true, mechanisms: ['PLAIN'] });
    await c.connect();
    expect(c.mechanism).toBe('PLAIN');
    expect(s.plaintext).not.toContain('<auth');
  });
});

describe('the real test Prosody', () => {
  it('logs in over verified STARTTLS with SCRAM (what Prosody 0.12 offers: SCRAM-SHA-1), as if it were remote', async () => {
    const p = stack().prosody;
    const c = new XmppConnection({
      service: p.service,
      jid: p.adminJid,
      password: () => p.adminPassword,
      timeoutMs: 5000,
      tlsCaFile: p.caFile,
      requireTls: true,
    });
    try {
      await c.connect();
      expect(c.online).toBe(true);
      // Prosody 0.12 hashes with SHA-1 unless `password_hash = "SHA-256"`.
      expect(c.mechanism).toBe('SCRAM-SHA-1');
    } finally {
      await c.close();
    }
  });

  it('without the CA file its self-signed certificate is refused', async () => {
    const p = stack().prosody;
    const c = new XmppConnection({ service: p.service, jid: p.adminJid, password: () => p.adminPassword, timeoutMs: 5000 });
    try {
      await refusal(c);
    } finally {
      await c.close();
    }
  });

  it('verifyPassword tells a refused login (false) from a good one (true)', async () => {
    const admin = prosodyAdmin();
    try {
      const p = stack().prosody;
      expect(await admin.verifyPassword(p.adminJid, p.adminPassword)).toBe(true);
      expect(await admin.verifyPassword(p.adminJid, `${p.adminPassword}-wrong`)).toBe(false);
    } finally {
      await admin.close();
    }
  });
});

describe('the ejabberd HTTP API', () => {
  /** A stand-in for mod_http_api over https: answers check_account with 0 and records what it got. */
  const fakeApi = async (tls: { key: string; cert: string }) => {
    const seen: string[] = [];
    const api = createHttpsServer(tls, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('0'));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(api.address() as AddressInfo).port}/api`;
    return { url, seen, close: () => new Promise<void>((resolve) => api.close(() => resolve())) };
  };
  const provisioner = (apiUrl: string, tlsCaFile?: string) => {
    let asked = 0;
    const p = new EjabberdProvisioner({
      server: { adminJid: 'admin@b.example', apiUrl, timeoutMs: 3000 },
      password: () => {
        asked++;
        return PASSWORD;
      },
      tlsCaFile,
    });
    return { p, asked: () => asked };
  };

  it('over https, trusts the system CAs plus the CA file', async () => {
    const api = await fakeApi(pki.loopbackIp);
    const { p } = provisioner(api.url, pki.caFile);
    try {
      expect(await p.accountExists('someone@b.example')).toBe(true);
      expect(api.seen).toHaveLength(1);
    } finally {
      await p.close();
      await api.close();
    }
  });

  it('refuses a certificate outside the trusted CAs before sending the credentials', async () => {
    const api = await fakeApi(pki.selfSigned);
    const { p } = provisioner(api.url.replace('127.0.0.1', 'localhost'), pki.caFile);
    const { p: noCa } = provisioner(api.url);
    try {
      await expect(p.accountExists('someone@b.example')).rejects.toMatchObject({ code: 'xmpp-unavailable' });
      await expect(noCa.accountExists('someone@b.example')).rejects.toMatchObject({ code: 'xmpp-unavailable' });
      expect(api.seen).toEqual([]);
    } finally {
      await p.close();
      await noCa.close();
      await api.close();
    }
  });

  it('refuses http:// off loopback at use, without even reading the admin password', async () => {
    // 192.0.2.0/24 is TEST-NET-1: nothing would answer, and nothing is sent.
    const { p, asked } = provisioner('http://192.0.2.1:5280/api');
    const error = await p.accountExists('someone@b.example').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'xmpp-unavailable' });
    expect((error as InviteError).message).toMatch(/plaintext/);
    expect(asked()).toBe(0);
  });
});
