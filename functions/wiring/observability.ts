import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger per container. Events are never logged: they carry
 * tokens (paths) and passwords (bodies).
 */
// The level comes from POWERTOOLS_LOG_LEVEL, which Powertools reads itself.
export const logger = new Logger({ serviceName: 'xmpp-invites' });
