/**
 * scripts/local/backports.ts: Prosody 13 and ejabberd 24.12 unpacked from
 * Debian bookworm-backports into a private prefix (the four-server suites use
 * the project's cache; these cases use their own directory).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackportsError, ensureEjabberd24, ensureProsody13, localXmppFrom } from '../../scripts/local/backports.js';

describe('Script: backports', () => {
  it('cannot reach the mirror: one message naming the server, the mirror and what it needs, and nothing left behind', () => {
    // Prepare: nothing listens on the discard port.
    const cacheDir = mkdtempSync(join(tmpdir(), 'xmpp-servers-test-'));
    const mirror = 'http://127.0.0.1:9/debian';
    try {
      // Act
      const failures = [() => ensureProsody13({ cacheDir, mirror }), () => ensureEjabberd24({ cacheDir, mirror })].map((install) => {
        try {
          install();
          return undefined;
        } catch (e) {
          return e as Error;
        }
      });

      // Assess
      for (const [failure, name] of [
        [failures[0], 'prosody-13'],
        [failures[1], 'ejabberd-24'],
      ] as const) {
        expect(failure).toBeInstanceOf(BackportsError);
        expect(failure?.message).toContain(`Could not install ${name} from Debian bookworm-backports (${mirror})`);
        expect(failure?.message).toContain('apt-get update failed');
        expect(failure?.message).toContain(`It needs network access to ${mirror}`);
      }
      expect(readdirSync(cacheDir)).toEqual([]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('the installed servers are the backports: Prosody 13 with its own mod_privilege, ejabberd 24 with its newer Erlang libraries', () => {
    // Act
    const prosody = ensureProsody13();
    const ejabberd = ensureEjabberd24();

    // Assess
    expect(prosody.version).toMatch(/^13\./);
    expect(existsSync(join(prosody.communityDir, 'mod_privilege', 'mod_privilege.lua'))).toBe(true);
    // Only mod_privilege: no other version's core modules beside it.
    expect(readdirSync(prosody.communityDir)).toEqual(['mod_privilege']);
    expect(ejabberd.version).toMatch(/^24\./);
    expect(ejabberd.p1xmpp).toMatch(/p1_xmpp-1\.(9|\d\d)\./);
    expect(ejabberd.erlLibs.every((d) => d.startsWith(ejabberd.prefix))).toBe(true);
  });

  it('LOCAL_XMPP: four choices, prosody by default', () => {
    // Assess
    expect(['', undefined, 'prosody-13', 'ejabberd', 'ejabberd-24'].map((v) => localXmppFrom(v))).toEqual([
      'prosody',
      'prosody',
      'prosody-13',
      'ejabberd',
      'ejabberd-24',
    ]);
    expect(() => localXmppFrom('prosody13')).toThrow(/LOCAL_XMPP must be one of prosody, prosody-13, ejabberd, ejabberd-24/);
  });
});
