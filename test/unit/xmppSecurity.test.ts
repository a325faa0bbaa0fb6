import { describe, expect, it } from 'vitest';
import { chooseMechanism } from '../../lib/adapters/xmpp/XmppConnection.js';
import { ScramClient, ScramError } from '../../lib/adapters/xmpp/scram.js';
import { apiUrlProblem, isLoopback } from '../../lib/adapters/xmpp/tlsPolicy.js';
import { loadConfig } from '../../lib/config.js';

describe('SCRAM client against the RFC test vectors', () => {
  it('SCRAM-SHA-1 (RFC 5802 §5)', async () => {
    const c = new ScramClient('SCRAM-SHA-1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
    expect(c.clientFirst()).toBe('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    const final = await c.clientFinal('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
    expect(final).toBe('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
    expect(c.serverVerified).toBe(false);
    c.verifyServerFinal('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
    expect(c.serverVerified).toBe(true);
  });

  it('SCRAM-SHA-256 (RFC 7677 §3)', async () => {
    const c = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
    expect(c.clientFirst()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = await c.clientFinal('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(final).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    c.verifyServerFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(c.serverVerified).toBe(true);
  });

  const reason = async (p: Promise<unknown> | (() => unknown)) => {
    try {
      await (typeof p === 'function' ? p() : p);
    } catch (e) {
      expect(e).toBeInstanceOf(ScramError);
      return (e as ScramError).reason;
    }
    return 'accepted';
  };

  it('refuses a cheap iteration count before computing any proof', async () => {
    const c = new ScramClient('SCRAM-SHA-1', 'user', 'pencil', 'abc');
    c.clientFirst();
    expect(await reason(c.clientFinal('r=abcdef,s=QSXCR+Q6sek8bf92,i=1'))).toBe('iterations-too-low');
    expect(await reason(c.clientFinal('r=abcdef,s=QSXCR+Q6sek8bf92,i=4095'))).toBe('iterations-too-low');
    expect(await reason(c.clientFinal('r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999'))).toBe('iterations-too-high');
    expect(await reason(c.clientFinal('r=abcdef,s=QSXCR+Q6sek8bf92'))).toBe('malformed');
  });

  it('refuses a server nonce that does not extend ours, and a missing salt', async () => {
    const c = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', 'abc');
    c.clientFirst();
    expect(await reason(c.clientFinal('r=xyzdef,s=QSXCR+Q6sek8bf92,i=4096'))).toBe('nonce-mismatch');
    expect(await reason(c.clientFinal('r=abc,s=QSXCR+Q6sek8bf92,i=4096'))).toBe('nonce-mismatch');
    expect(await reason(c.clientFinal('r=abcdef,s=,i=4096'))).toBe('malformed');
    expect(await reason(c.clientFinal('garbage'))).toBe('malformed');
  });

  it('refuses a wrong or missing server signature and a server error', async () => {
    const make = async () => {
      const c = new ScramClient('SCRAM-SHA-1', 'user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
      c.clientFirst();
      await c.clientFinal('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
      return c;
    };
    for (const [serverFinal, why] of [
      ['v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'server-signature-mismatch'],
      ['v=rmF9pqV8S7suAoZWja4dJRkF', 'server-signature-mismatch'],
      ['v=', 'server-signature-mismatch'],
      ['e=invalid-proof', 'server-error'],
    ] as const) {
      const c = await make();
      expect(await reason(() => c.verifyServerFinal(serverFinal))).toBe(why);
      expect(c.serverVerified).toBe(false);
    }
  });

  it('escapes = and , in usernames', () => {
    expect(new ScramClient('SCRAM-SHA-1', 'a=b,c', 'p', 'n').clientFirst()).toBe('n,,n=a=3Db=2Cc,r=n');
  });
});

describe('mechanism choice', () => {
  it('prefers SCRAM-SHA-256, then SCRAM-SHA-1; PLAIN only inside TLS or on tolerated plaintext', () => {
    const all = ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256'];
    expect(chooseMechanism(all, { secure: false, requireTls: false })).toBe('SCRAM-SHA-256');
    expect(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], { secure: true, requireTls: true })).toBe('SCRAM-SHA-1');
    expect(chooseMechanism(['PLAIN'], { secure: true, requireTls: true })).toBe('PLAIN');
    expect(chooseMechanism(['PLAIN'], { secure: false, requireTls: false })).toBe('PLAIN');
    expect(chooseMechanism(['PLAIN'], { secure: false, requireTls: true })).toBeUndefined();
    expect(chooseMechanism(['DIGEST-MD5', 'X-OAUTH2'], { secure: true, requireTls: true })).toBeUndefined();
  });
});

describe('TLS policy', () => {
  it('knows loopback', () => {
    for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(isLoopback(h)).toBe(true);
    for (const h of ['example.com', '10.0.0.1', '128.0.0.1', '127.0.0.1.evil.example', 'localhost.evil.example', '::2'])
      expect(isLoopback(h)).toBe(false);
  });

  it('refuses http:// API URLs off loopback', () => {
    expect(apiUrlProblem('https://xmpp.example.com/api')).toBeUndefined();
    expect(apiUrlProblem('http://127.0.0.1:5280/api')).toBeUndefined();
    expect(apiUrlProblem('http://localhost:5280/api')).toBeUndefined();
    expect(apiUrlProblem('http://[::1]:5280/api')).toBeUndefined();
    expect(apiUrlProblem('http://xmpp.example.com/api')).toMatch(/http:\/\//);
    expect(apiUrlProblem('http://127.0.0.1.nip.io/api')).toMatch(/http:\/\//);
    expect(apiUrlProblem('ftp://127.0.0.1/api')).toBeDefined();
    expect(apiUrlProblem('not a url')).toBeDefined();
  });
});

describe('configuration refuses a plaintext ejabberd API off loopback', () => {
  const ejabberd = (apiUrl: string) => ({ kind: 'ejabberd', adminJid: 'admin@b.example', adminPassword: 'pw', apiUrl });
  it('names the variable in one line', () => {
    expect(() => loadConfig({ XMPP_SERVERS: JSON.stringify({ 'b.example': ejabberd('http://xmpp.b.example:5280/api') }) })).toThrow(
      /^configuration XMPP_SERVERS\["b\.example"\]\.apiUrl uses http:\/\/ .*not loopback/
    );
    expect(() =>
      loadConfig({
        XMPP_DOMAIN: 'b.example',
        XMPP_KIND: 'ejabberd',
        XMPP_ADMIN_JID: 'admin@b.example',
        XMPP_ADMIN_PASSWORD: 'pw',
        XMPP_API_URL: 'http://10.0.0.5/api',
      })
    ).toThrow(/^configuration XMPP_API_URL uses http:\/\//);
  });
  it('accepts https anywhere and http on loopback', () => {
    for (const apiUrl of ['https://xmpp.b.example/api', 'http://127.0.0.1:5280/api', 'http://localhost:5280/api']) {
      expect(loadConfig({ XMPP_SERVERS: JSON.stringify({ 'b.example': ejabberd(apiUrl) }) }).xmpp['b.example']?.apiUrl).toBe(apiUrl);
    }
  });
});
