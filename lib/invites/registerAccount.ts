import type { Config } from '../config.js';
import { InviteError } from '../errors.js';
import { normalizeDomain, normalizeLocalpart } from '../jid.js';
import type { ProvisionerRegistry } from '../ports/XmppProvisioner.js';
import { checkPassword } from './password.js';

export interface RegisterDeps {
  xmpp: ProvisionerRegistry;
  config: Pick<Config, 'registrationInviteOnly' | 'domains' | 'defaultDomain' | 'passwordMinLength' | 'usernameMaxLength'>;
}

/**
 * Open registration without an invite, like mod_invites_register with
 * `registration_invite_only = false`. Closed by default.
 */
export const registerAccount = async (
  { xmpp, config }: RegisterDeps,
  input: { username?: unknown; password?: unknown; domain?: unknown }
) => {
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
  const provisioner = await xmpp.forDomain(domain);
  await provisioner.createAccount(jid, password);
  return { jid };
};
