import { describe, expect, it } from 'vitest';
import { inviteSubject, recordAction } from '../../lib/auditTrail.js';
import type { AdminAudit, AuditEntry } from '../../lib/ports/AdminAudit.js';

const clock = { now: () => 1_800_000_000 };

describe('recordAction (lib/auditTrail.ts)', () => {
  it('records the action with the acting key, the time and the path it came by', async () => {
    const written: AuditEntry[] = [];
    const audit: AdminAudit = { record: async (e) => void written.push(e), list: async () => ({ items: [] }) };
    await recordAction({ audit, clock }, { source: 'api-key:abc', keyName: 'ops' }, 'api', {
      action: 'invite.revoked',
      domain: 'example.org',
    });
    expect(written).toEqual([
      { action: 'invite.revoked', domain: 'example.org', at: 1_800_000_000, actor: 'api-key:abc', actorName: 'ops', via: 'api' },
    ]);
  });

  it('reports a failed write and does not fail the action it records', async () => {
    const warnings: string[] = [];
    const audit: AdminAudit = {
      record: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      list: async () => ({ items: [] }),
    };
    await expect(
      recordAction({ audit, clock, warn: (m) => warnings.push(m) }, { source: 'cli' }, 'cli', { action: 'key.revoked', domain: '*' })
    ).resolves.toBeUndefined();
    expect(warnings).toEqual(['audit trail write failed']);
  });
});

describe('inviteSubject', () => {
  it('names an invite by type, preset username and inviter', () => {
    expect(inviteSubject({ type: 'account', username: 'bob', inviter: 'alice@example.org' })).toBe(
      'account invite for bob from alice@example.org'
    );
    expect(inviteSubject({ type: 'contact', username: null, inviter: null })).toBe('contact invite');
  });
});
