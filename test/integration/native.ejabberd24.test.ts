/**
 * The native-app contract (nativeContract.ts) on ejabberd 24.12 (Debian
 * bookworm-backports with the Erlang libraries it needs, installed on first
 * use by scripts/local/backports.ts, on the system's Erlang/OTP), with
 * modules/ejabberd/mod_xmpp_invites compiled against its headers. The
 * ejabberd-only cases (throttle, access rules, plaintext listener) run on
 * 23.01 in native.ejabberd.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInvitesModule } from '../../scripts/local/ejabberd.js';
import { startEjabberdNative, type EjabberdNative } from '../support/nativeServers.js';
import { nativeAppContract } from './nativeContract.js';

let native: EjabberdNative;
beforeAll(async () => {
  native = await startEjabberdNative({ version: '24.12', domain: 'ej24native.localhost' });
}, 180_000);
afterAll(async () => {
  await native?.shutdown();
});

nativeAppContract('ejabberd 24.12', async () => native);

describe('mod_xmpp_invites on ejabberd 24.12', () => {
  it('is built against 24.12 headers, apart from the 23.01 build, and loads without errors', () => {
    // Assess
    expect(native.ej.label).toBe('ejabberd 24.12');
    expect(buildInvitesModule('24.12')).not.toBe(buildInvitesModule('23.01'));
    expect(native.ej.log()).toMatch(/ejabberd 24\.12\S* is started/);
    expect(native.ej.log()).not.toMatch(/mod_xmpp_invites[^\n]*(error|crash|undef)/i);
  });
});
