import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger per container. Events are never logged: they carry
 * tokens (paths) and passwords (bodies).
 */
export const logger = new Logger({
  serviceName: 'xmpp-invites',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
});
