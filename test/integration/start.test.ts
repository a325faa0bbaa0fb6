import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, portOpen } from '../../scripts/local/process.js';

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
