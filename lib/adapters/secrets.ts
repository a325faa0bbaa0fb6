import { InviteError } from '../errors.js';

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
