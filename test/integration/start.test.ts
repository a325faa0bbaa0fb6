import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, portOpen } from '../../scripts/local/process.js';
import { appPassword, LoggedInApp, registerWithApp, type XmppTarget } from '../support/xmppApp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start', () => {
  it('serves the API, prints how to use it, and Ctrl-C stops every process it started', async () => {
    const port = await freePort();
    const key = `xik_${'K'.repeat(43)}`;
    const child = spawn(process.execPath, ['scripts/run.js', 'start'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), INVITES_DEV_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 150_000;
      while (!out.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(out).toContain('xmpp-invites is running.');
      expect(out).toContain(`http://localhost:${port}`);
      expect(out).toContain(key);
      expect(out).toContain('curl -s -X POST');

      const issued = await fetch(`http://localhost:${port}/invites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inviter: 'admin@localhost' }),
      });
      expect(issued.status).toBe(201);
      const { token } = (await issued.json()) as { token: string };
      const redeemed = await fetch(`http://localhost:${port}/invites/${token}/redeem`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'juliet', password: 'a long passphrase' }),
      });
      expect(redeemed.status).toBe(201);

      const ports = [...out.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(ports.length).toBeGreaterThanOrEqual(2);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const p of [port, ...ports]) expect(await portOpen(p), `port ${p}`).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 200_000);
});

/**
 * `LOCAL_XMPP` chooses npm start's server; each prints the same banner (its
 * c2s port, admin account, the module, in-app invites on), and a scripted app
 * registers with an invite on it and reads `both` with its inviter. Prosody 13
 * comes from bookworm-backports (installed on first use); ejabberd is the
 * system's 23.01 (24.12 runs the same suites in native.ejabberd24.test.ts).
 */
describe.each(['prosody-13', 'ejabberd'])('LOCAL_XMPP=%s npm start', (choice) => {
  it('serves its server with mod_xmpp_invites: an app registers with an invite and both rosters read both', async () => {
    // Prepare
    const port = await freePort();
    const key = `xik_${'L'.repeat(43)}`;
    const child = spawn(process.execPath, ['scripts/run.js', 'start'], {
      cwd: root,
      env: { ...process.env, LOCAL_XMPP: choice, PORT: String(port), INVITES_DEV_API_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 240_000;
      while (!out.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const banner =
        /XMPP server +(.+?) at \S+ \(domain (\S+), admin (\S+) \/ (\S+)\)[\s\S]*?127\.0\.0\.1:(\d+)\s+\(self-signed certificate: (\S+)\)/.exec(
          out
        );
      expect(banner, out).not.toBeNull();
      const [, label, domain, adminJid, , c2sPort, caFile] = banner as unknown as string[];
      const target: XmppTarget = {
        domain: domain as string,
        host: '127.0.0.1',
        port: Number(c2sPort),
        caFile: (caFile as string).replace(/\)$/, ''),
      };

      // Act
      const issued = await fetch(`http://localhost:${port}/invites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inviter: adminJid }),
      });
      const { token, uri } = (await issued.json()) as { token: string; uri: string };
      const password = appPassword();
      const registered = await registerWithApp('conversations', target, { token, username: 'juliet', password, timeoutMs: 30_000 });
      const app = await LoggedInApp.login(target, `juliet@${domain}`, password);
      let roster: string[] = [];
      try {
        const answer = await app.stream.iq({ type: 'get' }, "<query xmlns='jabber:iq:roster'/>");
        roster = (answer.stanza?.getChild('query')?.getChildren('item') ?? []).map((i) => `${i.attrs.jid} ${i.attrs.subscription}`);
      } finally {
        app.close();
      }

      // Assess
      expect(label).toMatch(choice === 'prosody-13' ? /^Prosody 13\./ : /^ejabberd \d/);
      expect(out).toContain('Server module    mod_xmpp_invites loaded: in-app invites on');
      expect(issued.status).toBe(201);
      expect(uri).toMatch(/^xmpp:[^?]+\?(register|roster);preauth=/);
      expect(registered.verdict).toBe('registered');
      expect(roster).toEqual([`${adminJid} both`]);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(await portOpen(Number(c2sPort))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 300_000);
});

describe('LOCAL_XMPP with an unknown value', () => {
  it('npm start refuses it in one line that lists the choices, and starts nothing', async () => {
    // Act
    const child = spawn(process.execPath, ['scripts/run.js', 'start'], {
      cwd: root,
      env: { ...process.env, LOCAL_XMPP: 'openfire', PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    // Assess
    expect(code).toBe(2);
    expect(out.trim()).toBe(
      'npm start: LOCAL_XMPP must be one of prosody, prosody-13, ejabberd, ejabberd-24 (default prosody), got "openfire"'
    );
  }, 60_000);
});
