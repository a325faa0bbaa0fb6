/**
 * invites-admin: manage API keys and invites from a shell, against the table
 * named by INVITES_TABLE (AWS credentials and region from the environment;
 * AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local). The commands: USAGE below.
 */
import { parseArgs } from 'node:util';
import { createKey, keyAuditEntries, listKeys, revokeKey } from '../lib/apiKeys/manageKeys.js';
import { DynamoDBAdminAudit } from '../lib/adapters/dynamodb/DynamoDBAdminAudit.js';
import { inviteSubject, recordAction } from '../lib/auditTrail.js';
import { DynamoDBApiKeyStore } from '../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBLineageStore } from '../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { showLineage } from '../lib/lineage/showLineage.js';
import { lineageTree } from '../lib/lineage/tree.js';
import { revokeSignupSourceInvites } from '../lib/lineage/containment.js';
import { loadConfig } from '../lib/config.js';
import { isInviteError } from '../lib/errors.js';
import { revokeInvite } from '../lib/invites/adminInvites.js';
import type { Actor } from '../lib/invites/actor.js';
import { issueInvite } from '../lib/invites/issue.js';
import type { ApiKey } from '../lib/ports/ApiKeyStore.js';
import { systemClock } from '../lib/ports/Clock.js';

const USAGE = `usage:
  invites-admin keys create --name NAME --domain DOMAIN [--domain DOMAIN...] [--max-live-invites N]
                            [--allow-reset] [--inviter JID... | --any-inviter | --no-inviters]
      Reset invites need --allow-reset. Keys with --max-live-invites may name no
      inviter unless given --inviter JID (repeatable) or --any-inviter.
  invites-admin keys create --name NAME --domain DOMAIN --xmpp-server
      The credential of an XMPP server's module (modules/README.md).
  invites-admin keys list
  invites-admin keys revoke KEY_ID [--revoke-invites]
      --revoke-invites: also revoke every live invite the key issued.
  invites-admin invites create [--type account|contact|reset] [--domain D] [--inviter JID] [--username U]
                               [--max-uses N|unlimited] [--ttl SECONDS] [--note TEXT] [--group G...]
  invites-admin invites revoke INVITE_ID
  invites-admin sources revoke-invites NAME [--dry-run]
      Revokes every live invite the signup source NAME (SIGNUP_SOURCES) issued, e.g. after
      removing it; --dry-run lists them and changes nothing.
  invites-admin lineage JID [--depth N]
      Who invited the account, and the accounts it brought in, as a tree (N up to 5).
Environment: INVITES_TABLE, AWS_REGION, AWS credentials; AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local.`;

// The operator's own shell: every grant.
const CLI_ACTOR: Actor = { source: 'cli', domains: ['*'], admin: true, allowReset: true, inviters: 'any' };

/** What a key may do, without its secret (shown only by `keys create`). */
const keyView = (k: ApiKey, secret?: string) => ({
  id: k.id,
  name: k.name,
  kind: k.kind,
  domains: k.domains,
  maxLiveInvites: k.maxLiveInvites ?? null,
  allowReset: k.allowReset === true,
  inviters: k.kind === 'xmpp-server' ? 'its users' : (k.inviters ?? (k.maxLiveInvites === undefined ? 'any' : [])),
  createdAt: new Date(k.createdAt * 1000).toISOString(),
  revokedAt: k.revokedAt ? new Date(k.revokedAt * 1000).toISOString() : null,
  ...(secret ? { key: secret } : {}),
});

/** The audit trail as the CLI writes it (lib/auditTrail.ts): a failed write is a warning on stderr, the action stands. */
const cliTrail = (tableName: string) => ({
  audit: new DynamoDBAdminAudit({ tableName }),
  clock: systemClock,
  warn: (message: string) => process.stderr.write(`warning: ${message}\n`),
});

export const main = async (argv: string[], out: (s: string) => void = console.log): Promise<number> => {
  // Ids are base64url and may start with '-': after `revoke`, the next
  // argument is the id, never an option.
  const revokedId = argv[1] === 'revoke' || argv[1] === 'revoke-invites' ? argv[2] : undefined;
  const args = revokedId === undefined ? argv : [...argv.slice(0, 2), ...argv.slice(3)];
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      domain: { type: 'string', multiple: true },
      'max-live-invites': { type: 'string' },
      'allow-reset': { type: 'boolean' },
      'any-inviter': { type: 'boolean' },
      'no-inviters': { type: 'boolean' },
      'xmpp-server': { type: 'boolean' },
      type: { type: 'string' },
      inviter: { type: 'string', multiple: true },
      username: { type: 'string' },
      'max-uses': { type: 'string' },
      ttl: { type: 'string' },
      note: { type: 'string' },
      group: { type: 'string', multiple: true },
      depth: { type: 'string' },
      'revoke-invites': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [area, verb] = positionals;
  const arg = revokedId ?? positionals[2];
  if (values.help || !area || !verb) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const clock = systemClock;
  try {
    if (area === 'keys') {
      const store = new DynamoDBApiKeyStore({ tableName: config.tableName });
      // Key actions go to the audit trail as the console's do, as `cli` (lib/apiKeys/manageKeys.ts: which domains).
      const record = async (entries: ReturnType<typeof keyAuditEntries>) => {
        for (const entry of entries) await recordAction(cliTrail(config.tableName), CLI_ACTOR, 'cli', entry);
      };
      if (verb === 'create') {
        const max = values['max-live-invites'];
        const inviterOptions = [values.inviter !== undefined, values['any-inviter'], values['no-inviters']].filter(Boolean);
        if (inviterOptions.length > 1) {
          out('error: invalid-request: give one of --inviter, --any-inviter, --no-inviters');
          return 2;
        }
        const { apiKey, secret } = await createKey({ store, clock }, CLI_ACTOR, {
          name: values.name ?? '',
          domains: values.domain ?? [],
          kind: values['xmpp-server'] ? 'xmpp-server' : 'api',
          maxLiveInvites: max === undefined ? undefined : Number(max),
          allowReset: values['allow-reset'] === true,
          inviters: values['any-inviter'] ? 'any' : values['no-inviters'] ? [] : values.inviter?.length ? values.inviter : undefined,
        });
        await record(keyAuditEntries('key.created', apiKey));
        out(JSON.stringify(keyView(apiKey, secret), null, 2));
        out('Store the key now: it is shown once and only its hash is kept.');
        return 0;
      }
      if (verb === 'list') {
        const keys = await listKeys({ store }, CLI_ACTOR);
        out(
          JSON.stringify(
            keys.map((k) => keyView(k)),
            null,
            2
          )
        );
        return 0;
      }
      if (verb === 'revoke' && arg) {
        const revokeInvites = values['revoke-invites'] === true;
        const invites = { store: new DynamoDBInviteStore({ tableName: config.tableName }), clock };
        let revoked: Awaited<ReturnType<typeof revokeKey>>;
        try {
          revoked = await revokeKey({ store, clock, domains: config.domains, invites }, CLI_ACTOR, arg, { revokeInvites });
        } catch (e) {
          if (!isInviteError(e) || e.code !== 'key-not-found') throw e;
          out(`no API key ${arg}`);
          return 1;
        }
        await record(keyAuditEntries('key.revoked', revoked.key, revokeInvites ? { revokedInvites: revoked.revokedInvites.length } : {}));
        out(`revoked ${arg}`);
        if (revokeInvites) {
          const ids = revoked.revokedInvites;
          out(`revoked ${ids.length} live invite(s) of ${arg}${ids.length > 0 ? `: ${ids.join(' ')}` : ''}`);
        }
        return 0;
      }
    }
    if (area === 'invites') {
      const store = new DynamoDBInviteStore({ tableName: config.tableName });
      if (verb === 'create') {
        const maxUses = values['max-uses'];
        const { view } = await issueInvite({ store, clock, config }, CLI_ACTOR, {
          type: values.type as 'account' | undefined,
          domain: values.domain?.[0],
          inviter: values.inviter?.[0],
          username: values.username,
          maxUses: maxUses === undefined ? undefined : maxUses === 'unlimited' ? null : Number(maxUses),
          ttlSeconds: values.ttl === undefined ? undefined : Number(values.ttl),
          note: values.note,
          groups: values.group,
        });
        out(JSON.stringify(view, null, 2));
        return 0;
      }
      if (verb === 'revoke' && arg) {
        const invite = await revokeInvite({ store, clock, config }, CLI_ACTOR, arg);
        await recordAction(cliTrail(config.tableName), CLI_ACTOR, 'cli', {
          action: 'invite.revoked',
          domain: invite.domain,
          subject: inviteSubject(invite),
        });
        out(`revoked ${arg}`);
        return 0;
      }
    }
    if (area === 'sources' && verb === 'revoke-invites' && arg) {
      const invites = new DynamoDBInviteStore({ tableName: config.tableName });
      const dryRun = values['dry-run'] === true;
      const ids = await revokeSignupSourceInvites({ store: invites, clock }, arg, { dryRun });
      if (!dryRun && ids.length > 0) {
        // A signup source serves no one domain: the entry goes under `*`, which `*` admins read.
        await recordAction(cliTrail(config.tableName), CLI_ACTOR, 'cli', {
          action: 'source.invites-revoked',
          domain: '*',
          subject: `signup source ${arg}`,
          detail: { revoked: ids.length },
        });
      }
      out(
        `${dryRun ? 'would revoke' : 'revoked'} ${ids.length} live invite(s) of signup source ${arg}${ids.length > 0 ? `: ${ids.join(' ')}` : ''}`
      );
      if (config.signupSources[arg]) out(`note: ${arg} is still in SIGNUP_SOURCES: its deliveries still issue invites until it is removed`);
      return 0;
    }
    if (area === 'lineage') {
      const lineage = new DynamoDBLineageStore({ tableName: config.tableName });
      const depth = values.depth === undefined ? 1 : Number(values.depth);
      const view = await showLineage({ lineage }, CLI_ACTOR, verb, { depth });
      for (const line of lineageTree(view)) out(line);
      return 0;
    }
    out(USAGE);
    return 2;
  } catch (e) {
    if (isInviteError(e)) {
      out(`error: ${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  }
};
