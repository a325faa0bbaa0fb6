import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { api, stack } from '../support/stack.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/invites-admin.js', import.meta.url));
const cli = async (...args: string[]) => {
  try {
    const { stdout } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...stack().env } });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
};

describe('invites-admin', () => {
  it('creates a scoped API key that works once, lists it, and revokes it', async () => {
    const created = await cli('keys', 'create', '--name', 'signup-form', '--domain', 'other.example');
    expect(created.code).toBe(0);
    const { id, key, domains } = JSON.parse(created.out.slice(0, created.out.lastIndexOf('}') + 1));
    expect(key).toMatch(/^xik_[A-Za-z0-9_-]{43}$/);
    expect(domains).toEqual(['other.example']);

    expect((await api('POST', '/invites', { body: { domain: 'other.example' }, auth: key })).status).toBe(201);
    expect((await api('POST', '/invites', { body: { domain: 'localhost' }, auth: key })).status).toBe(403);

    const listed = JSON.parse((await cli('keys', 'list')).out);
    expect(listed.find((k: { id: string }) => k.id === id)).toMatchObject({ name: 'signup-form', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(key);

    expect((await cli('keys', 'revoke', id)).code).toBe(0);
    expect((await api('POST', '/invites', { body: { domain: 'other.example' }, auth: key })).status).toBe(401);
    const missing = await cli('keys', 'revoke', 'no-such-key');
    expect([missing.code, missing.out.trim()]).toEqual([1, 'no API key no-such-key']);
    // base64url ids may start with '-': still an id, not an option.
    const dashed = await cli('keys', 'revoke', '-starts-with-a-dash');
    expect([dashed.code, dashed.out.trim()]).toEqual([1, 'no API key -starts-with-a-dash']);
    const dashedInvite = await cli('invites', 'revoke', `-${'A'.repeat(42)}`);
    expect([dashedInvite.code, dashedInvite.out.trim()]).toEqual([1, 'error: invite-not-found: no invite with this id']);
  });

  it('issues and revokes invites from the shell', async () => {
    const created = await cli('invites', 'create', '--inviter', 'admin@localhost', '--max-uses', '3', '--note', 'from the cli');
    expect(created.code).toBe(0);
    const invite = JSON.parse(created.out);
    expect(invite).toMatchObject({ inviter: 'admin@localhost', maxUses: 3, note: 'from the cli' });
    expect((await api('GET', `/invites/${invite.token}`, { auth: false })).status).toBe(200);
    expect((await cli('invites', 'revoke', invite.id)).code).toBe(0);
    expect((await api('GET', `/invites/${invite.token}`, { auth: false })).body.error).toBe('token-revoked');
  });

  it('explains bad input and usage', async () => {
    const bad = await cli('invites', 'create', '--username', 'bad name');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('username-invalid');
    const usage = await cli();
    expect(usage.code).toBe(2);
    expect(usage.out).toContain('usage:');
  });
});
