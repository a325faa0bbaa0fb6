import { DynamoDBFunnelCounters } from '../../lib/adapters/dynamodb/DynamoDBFunnelCounters.js';
import type { FunnelCounts } from '../../lib/ports/FunnelCounters.js';
import { countNow } from '../../lib/stats/funnelEvents.js';
import { cfg, clock } from './deps.js';
import { logger } from './observability.js';

/** The onboarding funnel's counters (#21), one client per container. */
export const funnelCounters = new DynamoDBFunnelCounters({ tableName: cfg.tableName });

/** One UpdateItem on today's record of `domain`; a failure is logged, never thrown. */
export const countFunnel = (domain: string | undefined, counts: FunnelCounts): Promise<void> =>
  countNow({ counters: funnelCounters, clock, warn: (message, data) => logger.warn(message, data) }, domain, counts);
