import { InviteError } from '../../errors.js';
import type { SecretRef } from '../../webhooks/settings.js';
import { secretResolver } from './secrets.js';

/**
 * Signing secrets by source or endpoint name: given directly (local) or read
 * once per container from SSM Parameter Store (cloud). A secret that cannot
 * be read is our failure (500, or a retried stream batch), never the sender's.
 */
export const webhookSecrets = (refs: Readonly<Record<string, SecretRef>>): ((name: string) => Promise<string>) => {
  const resolvers = new Map<string, () => Promise<string>>();
  return async (name) => {
    const ref = Object.hasOwn(refs, name) ? refs[name] : undefined;
    if (!ref) throw new InviteError('internal', `no webhook secret is configured for ${name}`);
    let resolve = resolvers.get(name);
    if (!resolve) {
      resolve = secretResolver(ref.secret, ref.secretParameter);
      resolvers.set(name, resolve);
    }
    try {
      return await resolve();
    } catch (cause) {
      throw new InviteError('internal', `the webhook secret of ${name} could not be read`, { cause });
    }
  };
};
