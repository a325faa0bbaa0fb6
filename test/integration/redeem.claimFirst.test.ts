/**
 * The claim made before the invite is read (lib/invites/redeem.ts,
 * claimBeforeReading): taken when the caller knows the domain, as the server
 * module's calls do. Its transaction checks what it assumed of the invite;
 * whenever that is wrong, nothing may be written and the read-first path must
 * answer exactly as before. The real use case, DynamoDB Local and Prosody.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { loadConfig } from '../../lib/config.js';
import { isInviteError } from '../../lib/errors.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { redeemInvite, type RedeemInput } from '../../lib/invites/redeem.js';
import { systemClock } from '../../lib/ports/Clock.js';
import type { ClaimRecord, UnreadClaimRequest } from '../../lib/ports/InviteStore.js';
import type { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { canLogin, documentClientForStack, issueInStore, prosodyAdmin, stack, uniqueName } from '../support/stack.js';

const DOMAIN = 'localhost';
const PASSWORD = 'correct horse battery';

/** The stack's store, recording what each claim-before-read came back with. */
class RecordingStore extends DynamoDBInviteStore {
  public readonly unread: (ClaimRecord | undefined)[] = [];
  public reads = 0;

  public override async get(id: string, options?: { consistent?: boolean }) {
    this.reads++;
    return super.get(id, options);
  }

  public override async claimUnread(request: UnreadClaimRequest) {
    const claim = await super.claimUnread(request);
    this.unread.push(claim);
    return claim;
  }
}

let store: RecordingStore;
let xmpp: ProvisionerRegistryFromConfig;
let admin: ProsodyProvisioner;
const config = () => loadConfig(stack().env);

const redeem = (token: string, input: Partial<RedeemInput>) =>
  redeemInvite({ store, xmpp, clock: systemClock, config: config(), claimKey: async () => stack().env.CLAIM_KEY as string }, token, {
    domain: DOMAIN,
    password: PASSWORD,
    ...input,
  } as RedeemInput);

const errorCode = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: unknown) => (isInviteError(e) ? e.code : String(e))
  );

beforeAll(() => {
  store = new RecordingStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  xmpp = new ProvisionerRegistryFromConfig(config().xmpp, { tlsCaFile: config().xmppTlsCaFile });
  admin = prosodyAdmin();
});

afterAll(async () => {
  await Promise.all([xmpp.close(), admin.close()]);
});

describe('a redeem whose domain is known claims before it reads', () => {
  it('creates the account through the early claim, and a retry is answered from the completed claim', async () => {
    const view = await issueInStore(store, {});
    const username = uniqueName('early');
    store.unread.length = 0;
    const result = await redeem(view.token, { username });
    expect(result).toMatchObject({ jid: `${username}@${DOMAIN}`, outcome: 'created', replayed: false });
    expect(store.unread).toHaveLength(1);
    expect(store.unread[0]).toMatchObject({ jid: `${username}@${DOMAIN}`, status: 'pending' });
    expect(await store.get(view.id)).toMatchObject({ uses: 1, pending: 0 });
    expect(await canLogin(`${username}@${DOMAIN}`, PASSWORD)).toBe(true);

    // The same request again: the name's lock is taken, so the early claim writes nothing.
    store.unread.length = 0;
    expect(await redeem(view.token, { username })).toMatchObject({ jid: `${username}@${DOMAIN}`, replayed: true });
    expect(store.unread).toEqual([undefined]);
    expect(await store.get(view.id)).toMatchObject({ uses: 1, pending: 0 });
  });

  it('writes nothing when the invite presets another name, and answers as the read-first path does', async () => {
    const preset = uniqueName('preset');
    const view = await issueInStore(store, { username: preset });
    const other = uniqueName('other');
    store.unread.length = 0;
    store.reads = 0;
    expect(await errorCode(redeem(view.token, { username: other }))).toBe('username-mismatch');
    expect(store.unread).toEqual([undefined]);
    expect(store.reads).toBe(1);
    expect(await store.get(view.id)).toMatchObject({ uses: 0, pending: 0 });
    expect(await store.getClaim('account', `${other}@${DOMAIN}`, view.id)).toBeUndefined();
    expect(await admin.accountExists(`${other}@${DOMAIN}`)).toBe(false);
    // The preset name itself goes through the early claim.
    expect(await redeem(view.token, { username: preset })).toMatchObject({ jid: `${preset}@${DOMAIN}`, outcome: 'created' });
    expect(store.unread.at(-1)).toMatchObject({ jid: `${preset}@${DOMAIN}` });
  });

  it('refuses the invite of another domain as no such invite, and leaves it whole', async () => {
    const view = await issueInStore(store, {});
    store.unread.length = 0;
    expect(await errorCode(redeem(view.token, { username: uniqueName('far'), domain: 'elsewhere.example' }))).toBe('token-invalid');
    expect(store.unread).toEqual([undefined]);
    expect(await store.get(view.id)).toMatchObject({ uses: 0, pending: 0 });
  });

  it('answers unknown, revoked and used-up tokens as before, writing nothing', async () => {
    store.unread.length = 0;
    expect(await errorCode(redeem('A'.repeat(24), { username: uniqueName('nobody') }))).toBe('token-invalid');

    const revoked = await issueInStore(store, {});
    await store.revoke(revoked.id, systemClock.now());
    expect(await errorCode(redeem(revoked.token, { username: uniqueName('late') }))).toBe('token-revoked');
    expect(await store.get(revoked.id)).toMatchObject({ uses: 0, pending: 0 });

    const used = await issueInStore(store, {});
    await redeem(used.token, { username: uniqueName('first') });
    const second = uniqueName('second');
    expect(await errorCode(redeem(used.token, { username: second }))).toBe('token-used');
    expect(await store.get(used.id)).toMatchObject({ uses: 1, pending: 0 });
    expect(await admin.accountExists(`${second}@${DOMAIN}`)).toBe(false);
    // Of the five attempts, only the used-up invite's first redeem claimed early.
    expect(store.unread.filter(Boolean)).toHaveLength(1);
  });

  it('leaves a reset invite to the read-first path, which resets the password', async () => {
    const username = uniqueName('resetme');
    await admin.createAccount(`${username}@${DOMAIN}`, 'the old password 123');
    const { token, invite } = await issueInvite(
      { store, clock: systemClock, config: config() },
      { source: 'test', domains: ['*'], admin: true, allowReset: true },
      { type: 'reset', username }
    );
    store.unread.length = 0;
    store.reads = 0;
    expect(await redeem(token, { username })).toMatchObject({ jid: `${username}@${DOMAIN}`, outcome: 'reset' });
    expect(store.unread).toEqual([undefined]);
    // The read made alongside the refused claim answers the path below: one read in all.
    expect(store.reads).toBe(1);
    expect(await store.get(invite.id)).toMatchObject({ uses: 1, pending: 0 });
    expect(await canLogin(`${username}@${DOMAIN}`, PASSWORD)).toBe(true);
  });
});
