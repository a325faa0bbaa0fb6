import type { Config } from '../config.js';
import { InviteError } from '../errors.js';
import { normalizeLocalpart, usernamePolicy } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { RegistrationLocks } from '../ports/RegistrationLocks.js';
import type { ProvisionerRegistry } from '../ports/XmppProvisioner.js';
import { assertNotReserved } from './limits.js';
import { servedDomain } from './domains.js';
import { assertUncommonPassword, checkPassword } from './password.js';
import { CLAIM_LEASE_SECONDS } from './redeem.js';
import { withRegistrationBrake, type InvitePolicy } from './policy.js';
import { type JoinedVia, newLineage } from '../lineage/Lineage.js';

export interface RegisterDeps {
  xmpp: ProvisionerRegistry;
  locks: RegistrationLocks;
  clock: Clock;
  config: Pick<Config, 'registrationInviteOnly' | 'domains' | 'defaultDomain' | 'passwordMinLength' | 'usernameMaxLength'> &
    Partial<Pick<Config, 'usernameUnicode' | 'reservedUsernames'>>;
  /** The invitation policy (lib/invites/policy.ts): the registration brake, before the lock. */
  policy?: InvitePolicy;
}

/**
 * Open registration without an invite, like mod_invites_register with
 * `registration_invite_only = false`. Closed by default. It takes the JID
 * lock a redemption takes, so a username an invite reserved stays reserved.
 */
export const registerAccount = async (
  unbraked: RegisterDeps,
  input: { username?: unknown; password?: unknown; domain?: unknown },
  via: JoinedVia = 'api'
) => {
  const { xmpp, locks, clock, config } = withRegistrationBrake(unbraked);
  if (config.registrationInviteOnly) {
    throw new InviteError('registration-closed', 'registration needs an invite on this service');
  }
  const domain = servedDomain(config, input.domain);
  const username = normalizeLocalpart(input.username, usernamePolicy(config));
  assertNotReserved(config, username);
  const password = checkPassword(input.password, username, { minLength: config.passwordMinLength });
  await assertUncommonPassword(password);
  const jid = `${username}@${domain}`;
  const provisioner = await xmpp.forDomain(domain);
  const lock = await locks.lock(jid, clock.now(), CLAIM_LEASE_SECONDS);
  try {
    await provisioner.createAccount(jid, password);
  } catch (e) {
    await locks.release(jid, lock);
    throw e;
  }
  const now = clock.now();
  await locks.complete(jid, lock, now, newLineage(jid, via, now));
  return { jid };
};
