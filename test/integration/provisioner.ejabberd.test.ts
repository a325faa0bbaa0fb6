import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import type { Actor } from '../../lib/invites/actor.js';
import { issueInvite, type IssueInput } from '../../lib/invites/issue.js';
import { redeemInvite } from '../../lib/invites/redeem.js';
import { systemClock } from '../../lib/ports/Clock.js';
import type { XmppProvisioner } from '../../lib/ports/XmppProvisioner.js';
import { startEjabberd, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { canLogin as canLoginProsody, documentClientForStack, prosodyAdmin, stack, uniqueName } from '../support/stack.js';
import { inviteErrorOf, provisionerContract } from './provisionerContract.js';

/** A private ejabberd for this file only; the shared stack has Prosody only. */
let ej: LocalEjabberd;
beforeAll(async () => {
  ej = await startEjabberd();
});
afterAll(async () => {
  await ej?.stop();
});

const ejabberdAt = (apiUrl: string, password: string, timeoutMs = 5000) =>
  new EjabberdProvisioner({ server: { adminJid: ej.adminJid, apiUrl, timeoutMs }, password: () => password });

/** A real c2s login (STARTTLS, self-signed certificate) proves the password. */
const canLoginEjabberd = (jid: string, password: string) => canLoginProsody(jid, password, ej);

provisionerContract('ejabberd', () => ({
  domain: ej.domain,
  admin: () => ejabberdAt(ej.apiUrl, ej.adminPassword),
  withAdminPassword: (password) => ejabberdAt(ej.apiUrl, password),
  atPort: (port, timeoutMs) => ejabberdAt(`http://127.0.0.1:${port}/api`, ej.adminPassword, timeoutMs),
  canLogin: canLoginEjabberd,
  deleteAccount: async (jid) => {
    const [user, host] = jid.split('@') as [string, string];
    ej.ctl('unregister', user, host);
  },
}));

/** XMPP_SERVERS as an operator writes it, for the given servers. */
const configFor = (servers: Record<string, Record<string, unknown>>, extra: Record<string, string> = {}): Config =>
  loadConfig({
    XMPP_SERVERS: JSON.stringify(servers),
    INVITES_TABLE: stack().env.INVITES_TABLE,
    CLAIM_KEY: stack().env.CLAIM_KEY,
    ...extra,
  });

const ejabberdEntry = () => ({
  kind: 'ejabberd',
  service: ej.service,
  adminJid: ej.adminJid,
  adminPassword: ej.adminPassword,
  apiUrl: ej.apiUrl,
});

describe('Class: ProvisionerRegistryFromConfig', () => {
  it('routes each domain of one deployment to its own server: Prosody and ejabberd side by side', async () => {
    // Prepare
    const p = stack().prosody;
    const config = configFor({
      [p.domain]: { kind: 'prosody', service: p.service, adminJid: p.adminJid, adminPassword: p.adminPassword },
      [ej.domain]: ejabberdEntry(),
    });
    const registry = new ProvisionerRegistryFromConfig(config.xmpp, { tlsCaFile: p.caFile });
    const prosody = prosodyAdmin();
    const ejabberd = ejabberdAt(ej.apiUrl, ej.adminPassword);
    const name = uniqueName('both');

    try {
      // Act
      const [forProsody, forEjabberd] = await Promise.all([registry.forDomain(p.domain), registry.forDomain(ej.domain)]);
      await forEjabberd.createAccount(`${name}@${ej.domain}`, 'ejabberd password');
      await forProsody.createAccount(`${name}@${p.domain}`, 'prosody password');
      const unserved = await inviteErrorOf(() => registry.forDomain('unserved.example'));

      // Assess
      expect(config.domains.sort()).toEqual([ej.domain, p.domain].sort());
      expect(forProsody).toBeInstanceOf(ProsodyProvisioner);
      expect(forEjabberd).toBeInstanceOf(EjabberdProvisioner);
      expect(await registry.forDomain(ej.domain)).toBe(forEjabberd);
      expect(await canLoginEjabberd(`${name}@${ej.domain}`, 'ejabberd password')).toBe(true);
      expect(await canLoginProsody(`${name}@${p.domain}`, 'prosody password')).toBe(true);
      // Each account exists on its own server only.
      expect(await prosody.accountExists(`${name}@${p.domain}`)).toBe(true);
      expect(await ejabberd.accountExists(`${name}@${ej.domain}`)).toBe(true);
      expect(await ejabberd.accountExists(`${name}@${p.domain}`)).toBe(false);
      expect(unserved.code).toBe('xmpp-unavailable');
    } finally {
      await Promise.all([registry.close(), prosody.close(), ejabberd.close()]);
    }
  });
});

describe('Use case: redeemInvite on ejabberd (DynamoDB Local + real ejabberd)', () => {
  const actor: Actor = { source: 'cli', domains: ['*'], admin: true, allowReset: true };
  let config: Config;
  let store: DynamoDBInviteStore;
  let registry: ProvisionerRegistryFromConfig;
  let admin: XmppProvisioner;

  beforeAll(() => {
    config = configFor({ [ej.domain]: ejabberdEntry() });
    store = new DynamoDBInviteStore({ tableName: config.tableName, client: documentClientForStack() });
    registry = new ProvisionerRegistryFromConfig(config.xmpp);
    admin = ejabberdAt(ej.apiUrl, ej.adminPassword);
  });
  afterAll(async () => {
    await registry?.close();
  });

  const issue = async (input: IssueInput) => (await issueInvite({ store, clock: systemClock, config }, actor, input)).token;
  const redeem = (token: string, username: string, password: string) =>
    redeemInvite({ store, xmpp: registry, clock: systemClock, config, claimKey: claimKeyResolver(config) }, token, { username, password });

  it('creates the account and links it with the inviter: both rosters both, with the groups', async () => {
    // Prepare
    const inviter = `${uniqueName('inviter')}@${ej.domain}`;
    await admin.createAccount(inviter, 'inviter password');
    const token = await issue({ domain: ej.domain, inviter, groups: ['Family'] });
    const username = uniqueName('new');
    const jid = `${username}@${ej.domain}`;

    // Act
    const result = await redeem(token, username, 'a good long password');

    // Assess
    expect(result).toMatchObject({ jid, outcome: 'created', replayed: false, warnings: [] });
    expect(await canLoginEjabberd(jid, 'a good long password')).toBe(true);
    expect(await admin.getRoster(inviter)).toEqual([{ jid, subscription: 'both', groups: ['Family'] }]);
    expect(await admin.getRoster(jid)).toEqual([{ jid: inviter, subscription: 'both', groups: ['Family'] }]);
    const used = await inviteErrorOf(() => redeem(token, uniqueName('late'), 'a good long password'));
    expect(used.code).toBe('token-used');
  });

  it('answers username-taken for an existing account and does not burn the invite', async () => {
    // Prepare
    const taken = uniqueName('taken');
    await admin.createAccount(`${taken}@${ej.domain}`, 'the owner password');
    const token = await issue({ domain: ej.domain });

    // Act
    const error = await inviteErrorOf(() => redeem(token, taken, 'an intruder password'));

    // Assess
    expect(error.code).toBe('username-taken');
    expect(await canLoginEjabberd(`${taken}@${ej.domain}`, 'the owner password')).toBe(true);
    const other = uniqueName('other');
    const retry = await redeem(token, other, 'an honest password');
    expect(retry.jid).toBe(`${other}@${ej.domain}`);
    expect(await canLoginEjabberd(retry.jid, 'an honest password')).toBe(true);
  });

  it('resets the password of an existing account with a reset invite', async () => {
    // Prepare
    const username = uniqueName('forgot');
    const jid = `${username}@${ej.domain}`;
    await admin.createAccount(jid, 'forgotten password');
    const token = await issue({ domain: ej.domain, type: 'reset', username });

    // Act
    const result = await redeem(token, username, 'remembered password');

    // Assess
    expect(result).toMatchObject({ jid, outcome: 'reset' });
    expect(await canLoginEjabberd(jid, 'forgotten password')).toBe(false);
    expect(await canLoginEjabberd(jid, 'remembered password')).toBe(true);
  });
});

describe('Script: startEjabberd', () => {
  it('serves only the provisioning commands, only to the provisioning account', async () => {
    // Prepare
    const post = (command: string, auth?: string) =>
      fetch(`${ej.apiUrl}/${command}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}),
        },
        body: JSON.stringify({ user: 'admin', host: ej.domain }),
      });
    const admin = `${ej.adminJid}:${ej.adminPassword}`;

    // Act
    const [allowed, otherCommand, anonymous] = await Promise.all([
      post('check_account', admin),
      post('unregister', admin),
      post('check_account'),
    ]);

    // Assess
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toBe(0);
    expect(otherCommand.status).toBe(403);
    expect(anonymous.status).toBe(403);
    expect(await ejabberdAt(ej.apiUrl, ej.adminPassword).accountExists(ej.adminJid)).toBe(true);
  });
});
