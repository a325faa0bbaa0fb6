import type { Config } from '../config.js';
import { InviteError } from '../errors.js';
import { normalizeDomain, normalizeLocalpart } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import type { ProvisionerRegistry } from '../ports/XmppProvisioner.js';
import { checkPassword } from './password.js';

export interface RegisterDeps {
  xmpp: ProvisionerRegistry;
  /** Names reserved by live invites (or already redeemed) are not for open registration. */
  store: Pick<InviteStore, 'isJidHeld'>;
  clock: Clock;
  config: Pick<Config, 'registrationInviteOnly' | 'domains' | 'defaultDomain' | 'passwordMinLength' | 'usernameMaxLength'>;
}

/**
 * Open registration without an invite, like mod_invites_register with
 * `registration_invite_only = false`. Closed by default.
 */
export const registerAccount = async (
  deps: RegisterDeps,
  input: { username?: unknown; password?: unknown; domain?: unknown }
) => {
  const { xmpp, config } = deps;
  if (config.registrationInviteOnly) {
    throw new InviteError('registration-closed', 'registration needs an invite on this service');
  }
  const domain = input.domain === undefined ? config.defaultDomain : normalizeDomain(input.domain);
  if (!config.domains.includes(domain)) {
    throw new InviteError('domain-not-served', `this service does not register accounts on ${domain}`);
  }
  const username = normalizeLocalpart(input.username, { maxLength: config.usernameMaxLength });
  const password = checkPassword(input.password, username, { minLength: config.passwordMinLength });
  const jid = `${username}@${domain}`;
  // XEP-0401: a preset username stays reserved while its invite lives. (A
  // redeem of it racing this request can still lose to the server's own
  // "already exists"; that answer is username-taken for one of them.)
  if (await deps.store.isJidHeld(jid, deps.clock.now())) {
    throw new InviteError('username-taken', 'this username is taken or reserved by an invite');
  }
  const provisioner = await xmpp.forDomain(domain);
  await provisioner.createAccount(jid, password);
  return { jid };
};
