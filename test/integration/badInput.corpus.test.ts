/**
 * A corpus of malformed and hostile requests to every invite route, over HTTP
 * against the shared stack. Every answer must be a documented error: no 5xx,
 * a JSON body whose `error` is one of lib/errors.ts's codes with the status
 * functions/http/route.ts maps it to. The one answer that is not ours is the
 * gateway's own 404 for a route or method that does not exist (API Gateway
 * answers `{"message":"Not Found"}`, serverless-offline its "route not
 * found"): allowed only for requests the corpus marks as such.
 * Afterwards nothing changed: the invites (and JID locks) this file owns are
 * byte-for-byte the same (rate-limit counters are expected to move), no
 * invite was created by the corpus's key, and no account exists on Prosody
 * under any username the corpus sent.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS } from '../../functions/http/route.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import type { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { ErrorCodes, type ErrorCode } from '../../lib/errors.js';
import { normalizeLocalpart } from '../../lib/jid.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { nodeprep } from '../../lib/stringprep.js';
import { sha256 } from '../../lib/token.js';
import { documentClientForStack, prosodyAdmin, stack, uniqueName } from '../support/stack.js';

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * The gateway's own answer is acceptable here: 404 for a route or method
   * that does not exist, 400 for a path that is not valid UTF-8 (rejected
   * before any function runs).
   */
  gateway?: 404 | 400;
  /** The one error this request must get, where the corpus knows it. */
  error?: ErrorCode;
}

const PASSWORD = 'a long enough passphrase';

/** Names the servers' nodeprep would store as another name (issue #10): refused, never created. */
const NODEPREP_CHANGES: string[] = [
  'corpusstraße', // Prosody and ejabberd store `corpusstrasse`
  'corpusσοφός', // `corpusσοφόσ`
  'corpusalice\uFE0F', // variation selector, mapped to nothing: `corpusalice`
  'corpusalice\u034F', // combining grapheme joiner
  'corpusalice\u180B', // Mongolian free variation selector
  'corpusⅫ', // `corpusxii`
  'corpusﬁ', // `corpusfi`
  'corpusx²', // `corpusx2`
  'corpus\u33C6', // Prosody `corpusc∕kg`, ejabberd `corpusC∕kg`
  'corpusp\u0430ypal', // Latin with a Cyrillic look-alike
  'corpus\u05D0', // left-to-right then right-to-left: bidi rule
  'corpus\\20x', // XEP-0106 escape
];

/** Strings meant to break parsers, queries, JIDs and eyes. */
const HOSTILE: string[] = [
  "' OR '1'='1",
  '1; DROP TABLE invites--',
  "admin'--",
  '" OR ""="',
  '{"$gt":""}',
  '{"$ne":null}',
  '[$ne]=1',
  'attribute_exists(pk)',
  'pk = :pk OR 1=1',
  '#pk',
  ':v',
  "<iq type='set'/>",
  ']]><x/>',
  "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>",
  '</stream:stream>',
  '\'"><script>alert(1)</script>',
  'a/b',
  'a@b',
  'a@b/c',
  '@localhost',
  'user\u0000',
  '\u0000',
  'nul\u0000byte',
  '\u202Eadmin',
  'ad\u200Bmin',
  '\uFEFFjuliet',
  '\u0301abc',
  '\uD800x',
  'a b',
  ' ',
  '\t\n',
  '..',
  '%00',
  '%2F',
  '../../etc/passwd',
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'x'.repeat(5000),
  '\u{1F600}'.repeat(300),
  'ａｄｍｉｎ', // fullwidth: NFKC makes it `admin`, which exists
  'ADMIN',
  ...NODEPREP_CHANGES,
];

/** Bodies that are not the JSON a route wants. */
const BROKEN_BODIES: string[] = [
  '',
  '{',
  '{"username":',
  'null',
  '[]',
  '"a string"',
  '123',
  'true',
  '{"username":"a","password":"b"',
  '\uFEFF{"password":"x"}',
  '{"a":1,"a":2,"b":',
  "{'single':'quotes'}",
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '['.repeat(7000) + ']'.repeat(7000),
  `{"x":${'{"x":'.repeat(2000)}1${'}'.repeat(2001)}`,
  'x'.repeat(20_000),
  JSON.stringify({ password: 'p'.repeat(20_000) }),
  '\u0000\u0001\u0002',
  '<?xml version="1.0"?><redeem/>',
];

/**
 * In a path, `.` and `..` are dot-segments even percent-encoded
 * (serverless-offline resolves them to another route): bodies only.
 */
const IN_PATH = HOSTILE.filter((h) => !/^\.+$/.test(h));

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
];

/** Percent-encodes; a lone surrogate goes out as the raw (invalid UTF-8) bytes of one. */
const enc = (s: string) => {
  try {
    // Dots too, so `..` stays a path parameter instead of a dot-segment.
    return encodeURIComponent(s).replace(/\./g, '%2E');
  } catch {
    return `${encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''))}%ED%A0%80`;
  }
};

/** A lone surrogate goes out as bytes that are not UTF-8: the gateway's 400. */
const badUtf8 = (s: string): 400 | undefined => {
  try {
    encodeURIComponent(s);
    return undefined;
  } catch {
    return 400;
  }
};

/** Usernames that must never become accounts: those our rules reject, or that exist already. */
const rejectedOrTaken = (u: string) => {
  try {
    return normalizeLocalpart(u) === 'admin';
  } catch {
    return true;
  }
};

const ctx = {} as {
  key: string;
  source: string;
  valid: { token: string; id: string };
  preset: { token: string; id: string; username: string };
  revoked: { token: string; id: string };
  accountsBefore: Set<string>;
  snapshot: string;
};

const http = async (c: Case, retried = false): Promise<{ status: number; text: string; json?: { error?: string } }> => {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  const res = await fetch(`${stack().baseUrl}${c.path}`, { method: c.method, headers, body: c.body });
  const text = await res.text();
  // serverless-offline's own answer when a worker takes over the function's
  // 10 s (a cold start on a loaded 2-core machine): not ours, ask once more.
  if (!retried && text.includes('LambdaTimeoutError')) return http(c, true);
  let json: { error?: string } | undefined;
  try {
    json = JSON.parse(text) as { error?: string };
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
};

const admin = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${ctx.key}`, ...extra });
const jsonHeaders = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...extra });

const buildCorpus = (): Case[] => {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  const { valid, preset, revoked } = ctx;

  // Check: tokens of every wrong shape, and a revoked one.
  for (const h of IN_PATH)
    add({ name: `check ${JSON.stringify(h.slice(0, 30))}`, method: 'GET', path: `/invites/${enc(h)}`, gateway: badUtf8(h) });
  for (const t of [
    'A'.repeat(23),
    'A'.repeat(25),
    '!'.repeat(24),
    `${valid.token} `,
    valid.token.toLowerCase() === valid.token ? 'B'.repeat(24) : valid.token.toLowerCase(),
    valid.id,
    revoked.token,
  ]) {
    add({ name: `check token ${t.slice(0, 30)}`, method: 'GET', path: `/invites/${enc(t)}` });
  }

  // Redeem with bad tokens.
  for (const h of IN_PATH) {
    add({
      name: `redeem token ${JSON.stringify(h.slice(0, 30))}`,
      method: 'POST',
      path: `/invites/${enc(h)}/redeem`,
      gateway: badUtf8(h),
      headers: jsonHeaders(),
      body: JSON.stringify({ username: uniqueName('bad'), password: PASSWORD }),
    });
  }
  add({
    name: 'redeem revoked',
    method: 'POST',
    path: `/invites/${revoked.token}/redeem`,
    headers: jsonHeaders(),
    body: JSON.stringify({ username: uniqueName('rv'), password: PASSWORD }),
  });

  // Redeem a valid invite with broken bodies, wrong content types, wrong types.
  const redeemPath = `/invites/${valid.token}/redeem`;
  for (const b of BROKEN_BODIES)
    add({ name: `redeem body ${JSON.stringify(b.slice(0, 30))}`, method: 'POST', path: redeemPath, headers: jsonHeaders(), body: b });
  for (const ct of CONTENT_TYPES) {
    add({
      name: `redeem content-type ${ct}`,
      method: 'POST',
      path: redeemPath,
      headers: ct ? { 'content-type': ct } : {},
      body: `username=${uniqueName('ct')}&password=x`,
    });
  }
  add({ name: 'redeem no body', method: 'POST', path: redeemPath, headers: jsonHeaders() });
  const wrongTypes: unknown[] = [123, [], {}, null, true, 1.5, ['a'], { $ne: null }];
  for (const w of wrongTypes) {
    add({
      name: `redeem username ${JSON.stringify(w)}`,
      method: 'POST',
      path: redeemPath,
      headers: jsonHeaders(),
      body: JSON.stringify({ username: w, password: PASSWORD }),
    });
    add({
      name: `redeem password ${JSON.stringify(w)}`,
      method: 'POST',
      path: redeemPath,
      headers: jsonHeaders(),
      body: JSON.stringify({ username: uniqueName('pw'), password: w }),
    });
  }
  for (const h of HOSTILE.filter(rejectedOrTaken)) {
    const error = NODEPREP_CHANGES.includes(h) ? 'username-invalid' : undefined;
    add({
      name: `redeem username ${JSON.stringify(h.slice(0, 30))}`,
      method: 'POST',
      path: redeemPath,
      headers: jsonHeaders(),
      body: JSON.stringify({ username: h, password: PASSWORD }),
      error,
    });
  }
  for (const p of [
    '',
    'short',
    'aaaaaaaaaaaa',
    'abababababab',
    'x'.repeat(1025),
    'pass\u0000word-long',
    'tab\tseparated-pw',
    '\u0007bell-password-long',
  ]) {
    const username = uniqueName('weak');
    add({
      name: `redeem password ${JSON.stringify(p.slice(0, 20))}`,
      method: 'POST',
      path: redeemPath,
      headers: jsonHeaders(),
      body: JSON.stringify({ username, password: p }),
    });
  }
  {
    const username = uniqueName('own');
    add({
      name: 'redeem password contains username',
      method: 'POST',
      path: redeemPath,
      headers: jsonHeaders(),
      body: JSON.stringify({ username, password: `xx${username}yy` }),
    });
  }
  add({
    name: 'redeem extra property',
    method: 'POST',
    path: redeemPath,
    headers: jsonHeaders(),
    body: JSON.stringify({ username: uniqueName('ex'), password: PASSWORD, admin: true }),
  });
  add({
    name: 'redeem domain property',
    method: 'POST',
    path: redeemPath,
    headers: jsonHeaders(),
    body: JSON.stringify({ username: uniqueName('dm'), password: PASSWORD, domain: 'other.example' }),
  });
  add({
    name: 'redeem preset mismatch',
    method: 'POST',
    path: `/invites/${preset.token}/redeem`,
    headers: jsonHeaders(),
    body: JSON.stringify({ username: uniqueName('mm'), password: PASSWORD }),
  });
  add({
    name: 'redeem preset weak',
    method: 'POST',
    path: `/invites/${preset.token}/redeem`,
    headers: jsonHeaders(),
    body: JSON.stringify({ password: 'x' }),
  });
  add({
    name: 'redeem preset missing password',
    method: 'POST',
    path: `/invites/${preset.token}/redeem`,
    headers: jsonHeaders(),
    body: '{}',
  });

  // Issue with the corpus's own admin key: every body invalid.
  const issue = (name: string, body: string, headers: Record<string, string> = jsonHeaders(admin())) =>
    add({ name: `issue ${name}`, method: 'POST', path: '/invites', headers, body });
  for (const b of BROKEN_BODIES) issue(`body ${JSON.stringify(b.slice(0, 30))}`, b);
  for (const ct of CONTENT_TYPES) issue(`content-type ${ct}`, 'type=account', ct ? admin({ 'content-type': ct }) : admin());
  for (const h of HOSTILE) {
    issue(`type ${JSON.stringify(h.slice(0, 20))}`, JSON.stringify({ type: h }));
    issue(`inviter ${JSON.stringify(h.slice(0, 20))}`, JSON.stringify({ inviter: h }));
    if (!['ADMIN', 'ａｄｍｉｎ'].includes(h)) issue(`domain ${JSON.stringify(h.slice(0, 20))}`, JSON.stringify({ domain: h }));
    if (rejectedOrTaken(h) && normalizeSafe(h) !== 'admin') {
      add({
        name: `issue username ${JSON.stringify(h.slice(0, 20))}`,
        method: 'POST',
        path: '/invites',
        headers: jsonHeaders(admin()),
        body: JSON.stringify({ username: h }),
        error: NODEPREP_CHANGES.includes(h) ? 'username-invalid' : undefined,
      });
    }
  }
  for (const m of [0, -1, 1.5, '1', 1e7, [], {}, true, 2 ** 53]) issue(`maxUses ${JSON.stringify(m)}`, JSON.stringify({ maxUses: m }));
  for (const t of [0, 59, -1, 1e12, '60', 1.5, null, [], 2 ** 31])
    issue(`ttlSeconds ${JSON.stringify(t)}`, JSON.stringify({ ttlSeconds: t }));
  for (const g of ['staff', [''], Array(21).fill('g'), ['a\u0000b'], ['x'.repeat(101)], [['nested']], [1], [' lead']]) {
    issue(`groups ${JSON.stringify(g).slice(0, 30)}`, JSON.stringify({ groups: g }));
    issue(`roles ${JSON.stringify(g).slice(0, 30)}`, JSON.stringify({ roles: g }));
  }
  issue('note too long', JSON.stringify({ note: 'n'.repeat(1001) }));
  issue('note number', JSON.stringify({ note: 42 }));
  issue('contact without inviter', JSON.stringify({ type: 'contact' }));
  issue('reset without username', JSON.stringify({ type: 'reset' }));
  issue('preset username with maxUses', JSON.stringify({ username: uniqueName('pm'), maxUses: 5 }));
  issue('inviter on another domain', JSON.stringify({ inviter: 'romeo@other.example' }));
  issue('domain not served', JSON.stringify({ domain: 'example.org' }));
  issue('unknown property', JSON.stringify({ admin: true }));
  issue('preset username is the inviter', JSON.stringify({ inviter: 'juliet@localhost', username: 'juliet' }));

  // Authentication abuse (the body would be valid: only the key is wrong).
  const keyShaped = `xik_${'A'.repeat(43)}`;
  for (const auth of [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    `Bearer ${keyShaped}`,
    `Bearer ${ctx.key.slice(0, -1)}`,
    `Bearer ${ctx.key}x`,
    `Bearer ${ctx.key} ${ctx.key}`,
    `Token ${ctx.key}`,
    `Bearer ${'x'.repeat(8000)}`,
    `Bearer ${HOSTILE[0]}`,
  ]) {
    const headers: Record<string, string> = jsonHeaders(auth === undefined ? {} : { authorization: auth });
    add({ name: `issue auth ${JSON.stringify((auth ?? 'none').slice(0, 20))}`, method: 'POST', path: '/invites', headers, body: '{}' });
    add({ name: `list auth ${JSON.stringify((auth ?? 'none').slice(0, 20))}`, method: 'GET', path: '/invites', headers });
    add({ name: `revoke auth ${JSON.stringify((auth ?? 'none').slice(0, 20))}`, method: 'DELETE', path: `/invites/${valid.id}`, headers });
    add({ name: `show auth ${JSON.stringify((auth ?? 'none').slice(0, 20))}`, method: 'GET', path: `/invites/by-id/${valid.id}`, headers });
  }

  // List with hostile query strings.
  for (const h of HOSTILE.slice(0, 20)) {
    // `a@b` is a well-formed JID: listing its (no) invites is a fine, empty answer.
    for (const param of ['status', 'limit', 'cursor', ...(h === 'a@b' ? [] : ['inviter']), 'domain', h.length < 40 ? h : 'x']) {
      add({
        name: `list ${param}=${JSON.stringify(h.slice(0, 20))}`,
        method: 'GET',
        path: `/invites?${enc(param)}=${enc(h)}`,
        headers: admin(),
      });
    }
  }
  for (const q of [
    'limit=0',
    'limit=201',
    'limit=-1',
    'limit=1e2',
    'limit=99999',
    'status=valid&status=used',
    `cursor=${Buffer.from('{"pk":"INV#x","sk":"INV","gsi2pk":"DOMAIN#other","gsi2sk":"x"}').toString('base64url')}`,
    `cursor=${'A'.repeat(5000)}`,
    'domain=other..example',
    'inviter=a@other.example&domain=localhost&status=bogus',
    'type=Account',
    'type=account&type=reset',
    'source=api-key:',
    'source=cli%00',
    `source=${'a'.repeat(5000)}`,
  ]) {
    add({ name: `list ${q.slice(0, 40)}`, method: 'GET', path: `/invites?${q}`, headers: admin() });
  }

  // Show and revoke with ids of every wrong shape, and well-formed unknown ones.
  for (const h of [...IN_PATH, 'A'.repeat(42), 'A'.repeat(44), sha256('no such token')]) {
    add({
      name: `show id ${JSON.stringify(h.slice(0, 20))}`,
      method: 'GET',
      path: `/invites/by-id/${enc(h)}`,
      gateway: badUtf8(h),
      headers: admin(),
    });
    add({
      name: `revoke id ${JSON.stringify(h.slice(0, 20))}`,
      method: 'DELETE',
      path: `/invites/${enc(h)}`,
      gateway: badUtf8(h),
      headers: admin(),
    });
  }
  add({ name: 'revoke by token instead of id', method: 'DELETE', path: `/invites/${valid.token}`, headers: admin() });

  // Open registration: closed by default, whatever the body.
  for (const b of [
    ...BROKEN_BODIES.slice(0, 10),
    JSON.stringify({ username: uniqueName('reg'), password: PASSWORD }),
    JSON.stringify({ username: 'ａｄｍｉｎ', password: PASSWORD }),
    JSON.stringify({ username: uniqueName('reg'), password: PASSWORD, domain: HOSTILE[0] }),
  ]) {
    add({ name: `register ${JSON.stringify(b.slice(0, 30))}`, method: 'POST', path: '/register', headers: jsonHeaders(), body: b });
  }

  // Header abuse on the public routes.
  const abusive: Record<string, string>[] = [
    { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' },
    { 'x-forwarded-for': HOSTILE[0] as string },
    { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    { accept: 'application/xml' },
    { origin: 'https://evil.example' },
    { 'idempotency-key': 'x'.repeat(4000) },
    { cookie: `a=${'b'.repeat(6000)}` },
    { 'x-amzn-trace-id': '\u00ff\u00fe' },
  ];
  for (const headers of abusive) {
    add({ name: `check headers ${Object.keys(headers)[0]}`, method: 'GET', path: `/invites/${'C'.repeat(24)}`, headers });
    add({
      name: `redeem headers ${Object.keys(headers)[0]}`,
      method: 'POST',
      path: `/invites/${'C'.repeat(24)}/redeem`,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ username: uniqueName('h'), password: PASSWORD }),
    });
  }

  // Routes and methods that do not exist.
  for (const [method, path] of [
    ['PUT', '/invites'],
    ['PATCH', `/invites/${valid.id}`],
    ['DELETE', '/invites'],
    ['GET', `/invites/${valid.token}/redeem`],
    ['PUT', `/invites/${valid.token}/redeem`],
    ['POST', `/invites/by-id/${valid.id}`],
    ['GET', '/register'],
    ['GET', '/administrator'],
    ['DELETE', '/admin'],
    ['GET', '/invites/by-id'],
    ['POST', `/invites/${valid.token}/redeem/extra`],
    ['GET', '/../../etc/passwd'],
    ['GET', '/%2e%2e/%2e%2e/etc/passwd'],
  ] as const) {
    add({ name: `no route ${method} ${path.slice(0, 30)}`, method, path, gateway: 404 });
  }
  return cases;
};

const normalizeSafe = (u: string) => {
  try {
    return normalizeLocalpart(u);
  } catch {
    return undefined;
  }
};

/** The name the server would store for u, whether or not our rules accept it. */
const nodeprepSafe = (u: string) => {
  try {
    return nodeprep(u);
  } catch {
    return undefined;
  }
};

/** The items this file owns: its invites (and their audit records) and JID locks taken with them. */
const snapshot = async () => {
  const db = documentClientForStack();
  const table = stack().env.INVITES_TABLE;
  const ids = [ctx.valid.id, ctx.preset.id, ctx.revoked.id];
  const parts: unknown[] = [];
  for (const id of ids) {
    const { Items = [] } = await db.send(
      new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `INV#${id}` } })
    );
    parts.push(Items);
  }
  // A Scan, in this test only: locks and invites are keyed by things the corpus does not know in advance.
  const scanned: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'inviteId IN (:a, :b, :c) OR #source = :source',
        ExpressionAttributeNames: { '#source': 'source' },
        ExpressionAttributeValues: { ':a': ids[0], ':b': ids[1], ':c': ids[2], ':source': ctx.source },
        ExclusiveStartKey: startKey,
      })
    );
    scanned.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  scanned.sort((x, y) => `${x.pk}${x.sk}`.localeCompare(`${y.pk}${y.sk}`));
  return canonical([parts, scanned]);
};

/** JSON with sorted keys: DynamoDB does not keep an item's attribute order across writes. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)))
      : v
  );

/** Account files in the test Prosody's data directory (names are %-encoded by Prosody). */
const accountFiles = (): Set<string> => {
  const dir = join(stack().prosody.dir, 'data', stack().prosody.domain, 'accounts');
  return new Set(
    readdirSync(dir)
      .filter((f) => f.endsWith('.dat'))
      .map((f) => {
        const name = f.slice(0, -4);
        try {
          return decodeURIComponent(name);
        } catch {
          return name;
        }
      })
  );
};

let corpus: Case[];
const answers: { c: Case; status: number; text: string; json?: { error?: string } }[] = [];
let xmpp: ProsodyProvisioner;

beforeAll(async () => {
  const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  const { secret, apiKey } = await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('corpus'), domains: ['*'] });
  ctx.key = secret;
  ctx.source = `api-key:${apiKey.id.slice(0, 12)}`;
  const issue = async (body: Record<string, unknown>) => {
    const res = await fetch(`${stack().baseUrl}/invites`, { method: 'POST', headers: jsonHeaders(admin()), body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`setup issue: ${res.status} ${await res.text()}`);
    return (await res.json()) as { token: string; id: string };
  };
  ctx.valid = await issue({ maxUses: 3 });
  const username = uniqueName('preset');
  ctx.preset = { ...(await issue({ username })), username };
  ctx.revoked = await issue({});
  const revoke = await fetch(`${stack().baseUrl}/invites/${ctx.revoked.id}`, { method: 'DELETE', headers: admin() });
  if (revoke.status !== 204) throw new Error(`setup revoke: ${revoke.status}`);
  xmpp = prosodyAdmin();
  ctx.accountsBefore = accountFiles();
  ctx.snapshot = await snapshot();

  corpus = buildCorpus();
  // One request per function first, so that the corpus meets warm workers.
  for (const path of [
    '/invites',
    `/invites/${ctx.valid.id}`,
    `/invites/by-id/${ctx.valid.id}`,
    '/register',
    `/invites/${'D'.repeat(24)}`,
    `/invites/${'D'.repeat(24)}/redeem`,
  ]) {
    for (const method of path.startsWith('/invites/by')
      ? ['GET']
      : path === '/invites'
        ? ['GET', 'POST']
        : path.endsWith('redeem') || path === '/register'
          ? ['POST']
          : ['GET']) {
      await fetch(`${stack().baseUrl}${path}`, { method, headers: admin() });
    }
  }
  // A few at a time: fast, without turning the corpus into a load test.
  let next = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < corpus.length) {
        const c = corpus[next++] as Case;
        answers.push({ c, ...(await http(c)) });
      }
    })
  );
}, 180_000);

afterAll(async () => {
  await xmpp?.close();
});

const isDocumented = (code: string | undefined): code is ErrorCode => ErrorCodes.includes(code as ErrorCode);

describe('Bad-input corpus (HTTP, shared stack)', () => {
  it('has at least 300 malformed or hostile requests, to every route', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    const routes = new Set(corpus.map((c) => `${c.method} ${c.path.replace(/\?.*/, '').split('/').slice(0, 2).join('/')}`));
    for (const r of ['POST /invites', 'GET /invites', 'DELETE /invites', 'POST /register']) expect(routes).toContain(r);
    expect(corpus.some((c) => c.path.endsWith('/redeem') && c.method === 'POST')).toBe(true);
    expect(corpus.some((c) => c.path.startsWith('/invites/by-id/'))).toBe(true);
  });

  it('never answers 5xx', () => {
    const failures = answers.filter((a) => a.status >= 500).map((a) => `${a.c.name}: ${a.status} ${a.text.slice(0, 200)}`);
    expect(failures).toEqual([]);
  });

  it('answers every request with a documented error code and its status', () => {
    const undocumented = answers
      .filter((a) => {
        if (a.c.gateway === a.status && !isDocumented(a.json?.error)) return false;
        return !(isDocumented(a.json?.error) && STATUS[a.json.error] === a.status);
      })
      .map((a) => `${a.c.name}: ${a.status} ${a.text.slice(0, 200)}`);
    expect(undocumented).toEqual([]);
  });

  it('refuses every name nodeprep would change with username-invalid, at issue and at redeem', () => {
    const expected = answers.filter((a) => a.c.error);
    expect(expected.length).toBe(2 * NODEPREP_CHANGES.length);
    expect(
      expected.filter((a) => a.status !== 400 || a.json?.error !== a.c.error).map((a) => `${a.c.name}: ${a.status} ${a.text.slice(0, 200)}`)
    ).toEqual([]);
  });

  it('changes nothing in the table (rate-limit counters aside)', async () => {
    expect(await snapshot()).toBe(ctx.snapshot);
  });

  it('creates no account on the XMPP server', async () => {
    const sent = new Set<string>();
    for (const c of corpus) {
      if (!c.body) continue;
      try {
        const u = (JSON.parse(c.body) as { username?: unknown }).username;
        // Non-strings too, as a lax parser would have turned them into names.
        if (typeof u === 'string') sent.add(u);
        else if (typeof u === 'number' || typeof u === 'boolean') sent.add(String(u));
      } catch {
        /* not JSON: nothing to register */
      }
    }
    sent.add(ctx.preset.username);
    // Anything Prosody stored under one of these names (raw, normalized, or as its nodeprep makes it) is a leak.
    const candidates = new Set(
      [...sent].flatMap((u) => [u.toLowerCase(), normalizeSafe(u), nodeprepSafe(u)].filter((x): x is string => !!x))
    );
    const created = [...accountFiles()].filter((f) => !ctx.accountsBefore.has(f) && candidates.has(f));
    expect(created).toEqual([]);
    // And the server itself says so for every name that could have been created.
    const checkable = [...sent].map(normalizeSafe).filter((u): u is string => !!u && u !== 'admin');
    expect(checkable.length).toBeGreaterThan(20);
    for (const u of checkable) expect(await xmpp.accountExists(`${u}@localhost`), u).toBe(false);
  });
});
