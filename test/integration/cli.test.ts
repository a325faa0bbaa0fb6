import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { signatureHeader } from '../../lib/webhooks/signature.js';
import { DynamoDBAdminAudit } from '../../lib/adapters/dynamodb/DynamoDBAdminAudit.js';
import { api, documentClientForStack, stack } from '../support/stack.js';
import { sourceSecret } from '../support/webhooks.js';

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

  it('issues and revokes invites from the shell; the revoke is in the audit trail, by the cli', async () => {
    const inviter = `cli${randomUUID().slice(0, 8)}@localhost`;
    const created = await cli('invites', 'create', '--inviter', inviter, '--max-uses', '3', '--note', 'from the cli');
    expect(created.code).toBe(0);
    const invite = JSON.parse(created.out);
    expect(invite).toMatchObject({ inviter, maxUses: 3, note: 'from the cli' });
    expect((await api('GET', `/invites/${invite.token}`, { auth: false })).status).toBe(200);
    expect((await cli('invites', 'revoke', invite.id)).code).toBe(0);
    expect((await api('GET', `/invites/${invite.token}`, { auth: false })).body.error).toBe('token-revoked');
    const trail = new DynamoDBAdminAudit({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const entries = (await trail.list('localhost', { limit: 100 })).items.filter((e) => e.subject === `account invite from ${inviter}`);
    expect(entries).toMatchObject([{ action: 'invite.revoked', via: 'cli', actor: 'cli' }]);
  });

  it('revokes every live invite of a signup source (issued by signed deliveries), after a dry run that changes nothing', async () => {
    const deliver = async () => {
      const raw = JSON.stringify({ id: randomUUID() });
      const headers = {
        'content-type': 'application/json',
        'x-signature': signatureHeader(sourceSecret('cli-form'), Math.floor(Date.now() / 1000), raw),
      };
      const res = await api('POST', '/hooks/signup/cli-form', { raw, headers, auth: false });
      expect(res.status).toBe(201);
      return { id: res.body.id as string, token: res.body.token as string };
    };
    const status = async (token: string) => {
      const res = await api('GET', `/invites/${token}`, { auth: false });
      return res.status === 200 ? 'valid' : res.body.error;
    };
    const signups = [await deliver(), await deliver(), await deliver()];
    const already = await deliver();
    await cli('invites', 'revoke', already.id);
    const others = JSON.parse((await cli('invites', 'create', '--note', 'not from the form')).out);

    const dry = await cli('sources', 'revoke-invites', 'cli-form', '--dry-run');
    const afterDry = await Promise.all(signups.map((s) => status(s.token)));
    const real = await cli('sources', 'revoke-invites', 'cli-form');
    const again = await cli('sources', 'revoke-invites', 'cli-form');

    expect(dry.code).toBe(0);
    expect(dry.out).toContain('would revoke 3 live invite(s) of signup source cli-form');
    for (const s of signups) expect(dry.out).toContain(s.id);
    expect(afterDry).toEqual(['valid', 'valid', 'valid']);
    expect(real.code).toBe(0);
    expect(real.out).toContain('revoked 3 live invite(s) of signup source cli-form');
    expect(real.out).not.toContain(already.id);
    for (const s of signups) expect(await status(s.token)).toBe('token-revoked');
    expect(await status(others.token)).toBe('valid');
    expect(again.out).toContain('revoked 0 live invite(s) of signup source cli-form');
  });

  it('refuses a signup source name that cannot be one, changing nothing', async () => {
    const bad = await cli('sources', 'revoke-invites', 'no/such:form');
    expect([bad.code, bad.out.trim()]).toEqual([1, 'error: invalid-request: a signup source name is 1-64 of A-Z a-z 0-9 _ -']);
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
