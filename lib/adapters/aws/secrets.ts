import { InviteError } from '../../errors.js';

/**
 * A secret from configuration: given directly (local development), or read
 * once from SSM Parameter Store (SecureString) in the cloud and cached for the
 * container's life. Never logged.
 */
export const secretResolver = (value: string | undefined, parameterName: string | undefined): (() => Promise<string>) => {
  let cached: Promise<string> | undefined;
  return () => {
    if (value !== undefined) return Promise.resolve(value);
    if (!parameterName) {
      return Promise.reject(new InviteError('xmpp-unavailable', 'no admin password is configured', { retryAfter: 300 }));
    }
    cached ??= (async () => {
      const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const out = await new SSMClient({}).send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }));
      const secret = out.Parameter?.Value;
      if (!secret) throw new InviteError('xmpp-unavailable', 'the admin password parameter is empty', { retryAfter: 300 });
      return secret;
    })();
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
};

/**
 * The HMAC key of claim fingerprints (lib/invites/password.ts): `CLAIM_KEY`
 * locally, the SSM parameter `CLAIM_KEY_PARAMETER` in the cloud. Every
 * container of every function that redeems must use the same key.
 */
export const claimKeyResolver = (config: { claimKey?: string; claimKeyParameter?: string }): (() => Promise<string>) => {
  if (!config.claimKey && !config.claimKeyParameter) {
    return () =>
      Promise.reject(new InviteError('internal', 'configuration: set CLAIM_KEY or CLAIM_KEY_PARAMETER (the claim fingerprint key)'));
  }
  const resolve = secretResolver(config.claimKey, config.claimKeyParameter);
  return () =>
    resolve().catch((cause: unknown) => {
      throw new InviteError('internal', 'the claim fingerprint key could not be read', { cause });
    });
};

/**
 * The HMAC key of the admin console's session cookies (lib/web/console/session.ts):
 * `CONSOLE_SESSION_KEY` locally, the SSM parameter `CONSOLE_SESSION_KEY_PARAMETER`
 * in the cloud. Changing it ends every console session.
 */
export const consoleSessionKeyResolver = (config: { sessionKey?: string; sessionKeyParameter?: string } = {}): (() => Promise<string>) => {
  if (!config.sessionKey && !config.sessionKeyParameter) {
    return () =>
      Promise.reject(
        new InviteError('internal', 'configuration: set CONSOLE_SESSION_KEY or CONSOLE_SESSION_KEY_PARAMETER (the console session key)')
      );
  }
  const resolve = secretResolver(config.sessionKey, config.sessionKeyParameter);
  return () =>
    resolve().catch((cause: unknown) => {
      throw new InviteError('internal', 'the console session key could not be read', { cause });
    });
};
