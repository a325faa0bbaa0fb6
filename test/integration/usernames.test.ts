/**
 * Issue #10, point 4: the JID we lock is the JID the server creates.
 *
 * Ground truth is the servers themselves:
 * 1. their own nodeprep (Prosody's util.encodings, ejabberd's stringprep NIF)
 *    against lib/stringprep.ts on every code point Unicode 3.2 assigns, alone
 *    and after a letter, and on sequences that exercise composition and bidi;
 * 2. accounts made through the real redeem path, by HTTP on the shared
 *    stack's Prosody (default policy) and in-process with USERNAME_UNICODE=true
 *    on that Prosody and on a private ejabberd. Each username is either
 *    refused with `username-invalid`, leaving no account under any name it
 *    could become, or created under exactly the JID reported, recorded in the
 *    audit trail, found byte for byte in the server's own list of accounts,
 *    and able to log in.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { isInviteError } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { redeemInvite } from '../../lib/invites/redeem.js';
import { normalizeLocalpart, usernamePolicy } from '../../lib/jid.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { inRanges, tryNodeprep } from '../../lib/stringprep.js';
import { A1 } from '../../lib/stringprepTables.js';
import { startEjabberd, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { api, canLogin, documentClientForStack, stack } from '../support/stack.js';

const PASSWORD = 'a long enough passphrase';

// ---------------------------------------------------------------------------
// The servers' own nodeprep, run as the servers run it.

const hexLines = (strings: string[]) => `${strings.map((s) => Buffer.from(s, 'utf8').toString('hex')).join('\n')}\n`;
/** Each line: hex of the prepped UTF-8, or `!` when refused. */
const fromHexLines = (text: string): (string | undefined)[] =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => (l === '!' ? undefined : Buffer.from(l, 'hex').toString('utf8')));

const PROSODY_LIB = ['/usr/lib/prosody', '/usr/local/lib/prosody'].find((d) => existsSync(join(d, 'util', 'encodings.so')));
/** The Lua that runs Prosody, from its launcher's `#!/usr/bin/env lua5.x`. */
const prosodyLua = () => {
  const launcher = ['/usr/bin/prosody', '/usr/local/bin/prosody'].find(existsSync);
  const shebang = launcher ? (readFileSync(launcher, 'utf8').split('\n')[0] ?? '') : '';
  return /lua[\d.]*/.exec(shebang)?.[0] ?? 'lua';
};

const PROSODY_PREP = `
local nodeprep = require "util.encodings".stringprep.nodeprep
for line in io.lines() do
  local s = line:gsub("..", function(h) return string.char(tonumber(h, 16)) end)
  local r = nodeprep(s)
  if r == nil then io.write("!\\n")
  else io.write((r:gsub(".", function(c) return string.format("%02x", c:byte()) end)), "\\n") end
end
`;

/** jid:nodeprep is stringprep:nodeprep with a length bound; this calls the same NIF. */
const EJABBERD_PREP = `-module(np_check).
-export([main/0]).
main() ->
    {ok, _} = application:ensure_all_started(stringprep),
    {ok, Data} = file:read_file(os:getenv("NP_IN")),
    Lines = binary:split(Data, <<"\\n">>, [global, trim_all]),
    ok = file:write_file(os:getenv("NP_OUT"), [prep(L) || L <- Lines]),
    halt().
prep(L) ->
    case stringprep:nodeprep(binary:decode_hex(L)) of
        error -> <<"!\\n">>;
        R -> [binary:encode_hex(R), $\\n]
    end.
`;

let work: string;

const prosodyNodeprep = (strings: string[]) => {
  if (!PROSODY_LIB) throw new Error('Prosody is not installed: its util/encodings.so is needed');
  const script = join(work, 'prep.lua');
  writeFileSync(script, PROSODY_PREP);
  const out = execFileSync(prosodyLua(), [script], {
    input: hexLines(strings),
    env: { ...process.env, LUA_CPATH: `${PROSODY_LIB}/?.so;;` },
    maxBuffer: 1 << 28,
  });
  return fromHexLines(out.toString('utf8').toLowerCase());
};

const ejabberdNodeprep = (strings: string[]) => {
  writeFileSync(join(work, 'np_check.erl'), EJABBERD_PREP);
  execFileSync('erlc', ['-o', work, join(work, 'np_check.erl')]);
  const [input, output] = [join(work, 'np.in'), join(work, 'np.out')];
  writeFileSync(input, hexLines(strings));
  // The packaged stringprep application lives in Erlang's lib dir; add ejabberd's own too where it has one.
  const extra = ['/usr/lib/ejabberd/lib', '/usr/local/lib/ejabberd/lib', '/opt/ejabberd/lib'].filter(existsSync).flatMap((d) =>
    readdirSync(d)
      .filter((n) => n.includes('stringprep'))
      .map((n) => join(d, n, 'ebin'))
  );
  execFileSync('erl', ['-noshell', '-pa', work, ...extra.flatMap((d) => ['-pa', d]), '-run', 'np_check', 'main'], {
    env: { ...process.env, NP_IN: input, NP_OUT: output },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return fromHexLines(readFileSync(output, 'utf8').toLowerCase());
};

const ours = (s: string) => {
  const result = tryNodeprep(s);
  return 'value' in result ? result.value : undefined;
};

/** Deterministic strings mixing what composes, case-maps, reorders and changes direction. */
const sequences = (count: number) => {
  const pools: [number, number][] = [
    [0x41, 0x5a],
    [0x61, 0x7a],
    [0x30, 0x39],
    [0xc0, 0x24f],
    [0x300, 0x36f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x590, 0x5ff],
    [0x600, 0x6ff],
    [0x900, 0x97f],
    [0xb00, 0xb7f],
    [0xe00, 0xe7f],
    [0xf00, 0xfff],
    [0x1000, 0x109f],
    [0x1100, 0x11f9],
    [0x1e00, 0x1fff],
    [0x2000, 0x206f],
    [0x2150, 0x218f],
    [0x2460, 0x24ff],
    [0x3040, 0x30ff],
    [0x3300, 0x33ff],
    [0xac00, 0xac40],
    [0xfb00, 0xfb4f],
    [0xfe00, 0xfe0f],
    [0xff00, 0xffef],
    [0x1d400, 0x1d7ff],
  ];
  let seed = 20261126;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  return Array.from({ length: count }, () => {
    let s = '';
    for (let len = 1 + next(7); len > 0; len--) {
      const [lo, hi] = pools[next(pools.length)] as [number, number];
      s += String.fromCodePoint(lo + next(hi - lo + 1));
    }
    return s;
  });
};

// ---------------------------------------------------------------------------
// The usernames of the issue, and what each policy must make of them.

/** A fresh tag per run, in digits: Common script, so it mixes with any name. */
const tag = () => String(randomInt(10_000_000, 99_999_999));

interface Case {
  name: string;
  input: string;
  /** What each rule creates, or undefined where it must refuse. */
  ascii?: string;
  unicode?: string;
}

const cases = (): Case[] => {
  const t = tag();
  return [
    { name: 'capitals', input: `Juliet${t}`, ascii: `juliet${t}`, unicode: `juliet${t}` },
    { name: 'sharp s', input: `straße${t}` },
    { name: 'final sigma', input: `${t}σοφός` },
    { name: 'variation selector', input: `alice${t}\uFE0F` },
    { name: 'combining grapheme joiner', input: `alice${t}\u034F` },
    { name: 'Mongolian variation selector', input: `alice${t}\u180B` },
    { name: 'fullwidth letters', input: `ａｌｉｃｅ${t}` },
    { name: 'roman numeral', input: `Ⅻ${t}` },
    { name: 'fi ligature', input: `ﬁ${t}` },
    { name: 'superscript', input: `x²${t}` },
    { name: 'leading combining mark', input: `\u0301abc${t}` },
    { name: 'right-to-left mixed with Latin', input: `a${t}א` },
    { name: 'Latin with a Cyrillic look-alike', input: `p\u0430ypal${t}` },
    { name: 'square c over kg (servers disagree)', input: `\u33C6${t}` },
    { name: 'emoji', input: `\u{1F600}${t}` },
    { name: 'accents, composed', input: `Élodie${t}`, unicode: `élodie${t}` },
    { name: 'accents, decomposed', input: `Ame\u0301lie${t}`, unicode: `amélie${t}` },
    { name: 'capital Greek', input: `ΟΔΥΣΣΕΥΣ${t}`, unicode: `οδυσσευσ${t}` },
    { name: 'Kelvin sign', input: `\u212Aelvin${t}`, unicode: `kelvin${t}` },
    { name: 'dotted capital I', input: `İstanbul${t}`, unicode: `i\u0307stanbul${t}` },
    { name: 'Japanese', input: `山田${t}たろう`, unicode: `山田${t}たろう` },
    { name: 'Hebrew', input: `ש${t}ם`, unicode: `ש${t}ם` },
  ];
};

/** The server's accounts, byte for byte, as it stores them. */
interface Server {
  domain: string;
  accounts: () => Set<string>;
  login: (jid: string, password: string) => Promise<boolean>;
}

/** Prosody keeps an account per file, named by the %-encoded bytes of the stored localpart. */
const prosodyAccounts = () => {
  const p = stack().prosody;
  const dir = join(p.dir, 'data', p.domain, 'accounts');
  return new Set(
    readdirSync(dir)
      .filter((f) => f.endsWith('.dat'))
      .map((f) => decodeURIComponent(f.slice(0, -4)))
  );
};

const prosodyServer = (): Server => ({
  domain: stack().prosody.domain,
  accounts: prosodyAccounts,
  login: (jid, password) => canLogin(jid, password),
});

/** Every name a refused input could have become on the server. */
const couldBecome = (input: string) =>
  new Set([input, input.toLowerCase(), input.normalize('NFKC').toLowerCase(), ours(input)].filter((x): x is string => !!x));

/**
 * Either refused with username-invalid and no account under any name it
 * could become, or created as reported: stored byte for byte, recorded, able
 * to log in.
 */
type Outcome = { error?: string; jid?: string; recorded?: string[] };
const expectTruthful = async (server: Server, stored: Set<string>, c: Case, expected: string | undefined, outcome: Outcome) => {
  if (expected === undefined) {
    expect(outcome, c.name).toEqual({ error: 'username-invalid' });
    for (const name of couldBecome(c.input)) expect(stored.has(name), `${c.name}: account ${name}`).toBe(false);
    return;
  }
  const jid = `${expected}@${server.domain}`;
  expect(outcome, c.name).toEqual({ jid, recorded: [jid] });
  expect(ours(c.input), c.name).toBe(expected);
  expect(stored.has(expected), `${c.name}: ${expected} stored as such`).toBe(true);
  expect(await server.login(jid, PASSWORD), `${c.name}: login as ${jid}`).toBe(true);
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'xmpp-invites-usernames-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("Nodeprep: ours against Prosody's and ejabberd's own", () => {
  it('agrees on every code point Unicode 3.2 assigns, alone and after a letter, and on mixed sequences', () => {
    // Prepare
    const assigned: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if ((cp >= 0xd800 && cp <= 0xdfff) || inRanges(A1, cp)) continue;
      assigned.push(String.fromCodePoint(cp));
    }
    const inputs = [...assigned, ...assigned.map((ch) => `a${ch}`), ...sequences(20_000), ...cases().map((c) => c.input)];

    // Act
    const prosody = prosodyNodeprep(inputs);
    const ejabberd = ejabberdNodeprep(inputs);

    // Assess
    expect(prosody).toHaveLength(inputs.length);
    expect(ejabberd).toHaveLength(inputs.length);
    const disagreements: string[] = [];
    const refusedButBothAccept: string[] = [];
    let accepted = 0;
    inputs.forEach((input, i) => {
      const mine = ours(input);
      const cps = [...input].map((ch) => `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase()}`).join(' ');
      if (mine !== undefined) {
        accepted++;
        // What we accept, both servers store under exactly our name.
        if (prosody[i] !== mine || ejabberd[i] !== mine) {
          disagreements.push(
            `${cps}: ours ${JSON.stringify(mine)}, Prosody ${JSON.stringify(prosody[i])}, ejabberd ${JSON.stringify(ejabberd[i])}`
          );
        }
      } else if (prosody[i] !== undefined && prosody[i] === ejabberd[i]) {
        refusedButBothAccept.push(cps);
      }
    });
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(150_000);
    // We refuse beyond the servers only where their Unicode 3.2 NFKC differs from today's (Corrigendum #4).
    expect(refusedButBothAccept.sort()).toEqual(
      [
        'U+2F868',
        'U+2F874',
        'U+2F91F',
        'U+2F95F',
        'U+2F9BF',
        'U+61 U+2F868',
        'U+61 U+2F874',
        'U+61 U+2F91F',
        'U+61 U+2F95F',
        'U+61 U+2F9BF',
      ].sort()
    );
    // Where the servers disagree with each other, we refuse.
    const i33c6 = inputs.indexOf('\u33C6');
    expect([prosody[i33c6], ejabberd[i33c6], ours('\u33C6')]).toEqual(['c∕kg', 'C∕kg', undefined]);
  }, 300_000);
});

/**
 * The API as a patient client uses it. On a loaded machine serverless-offline
 * may answer its own LambdaTimeoutError (a cold worker missed the function's
 * timeout) while the function goes on: not our answer, so ask again; a redeem
 * retried with the same token, username and password resumes or replays, and
 * says redemption-in-progress while the first attempt still holds the claim.
 */
const call = async (method: string, path: string, options: Parameters<typeof api>[2]) => {
  for (let attempt = 1; ; attempt++) {
    const res = await api(method, path, options);
    const busy = res.text.includes('LambdaTimeoutError') || res.body?.error === 'redemption-in-progress';
    if (!busy || attempt === 20) return res;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
};

describe('HTTP: POST /invites and POST /invites/{token}/redeem on the stack (default policy)', () => {
  const policy = () => usernamePolicy(loadConfig(stack().env));
  const expectedOf = (c: Case) => (policy().rule === 'unicode' ? c.unicode : c.ascii);

  it('keeps the shared stack on the default, ASCII-only policy', () => {
    expect(policy().rule).toBe('ascii');
  });

  it('redeems each username of the issue truthfully: refused with username-invalid, or created as reported', async () => {
    // Prepare
    const server = prosodyServer();
    const all = cases();

    // Act
    const outcomes: Outcome[] = [];
    for (const c of all) {
      const issued = await call('POST', '/invites', { body: {} });
      expect(issued.status).toBe(201);
      const res = await call('POST', `/invites/${issued.body.token}/redeem`, {
        auth: false,
        body: { username: c.input, password: PASSWORD },
      });
      const shown = await call('GET', `/invites/by-id/${issued.body.id}`, {});
      if (res.status !== 201) expect(res.status, `${c.name}: ${res.text.slice(0, 200)}`).toBe(400);
      outcomes.push(
        res.status === 201
          ? { jid: res.body.jid as string, recorded: (shown.body.redemptions as { jid: string }[]).map((r) => r.jid) }
          : { error: res.body?.error as string }
      );
    }

    // Assess
    const stored = server.accounts();
    for (const [i, c] of all.entries()) await expectTruthful(server, stored, c, expectedOf(c), outcomes[i] as Outcome);
  }, 180_000);

  it('refuses each such username as a preset, so nothing is reserved under a name the server would not create', async () => {
    for (const c of cases().filter((x) => expectedOf(x) === undefined)) {
      const res = await call('POST', '/invites', { body: { username: c.input } });
      expect([c.name, res.status, res.body?.error]).toEqual([c.name, 400, 'username-invalid']);
    }
  }, 120_000);

  it('lets nobody take a reserved preset through another invite by spelling it the way nodeprep folds (straße for strasse)', async () => {
    // Prepare
    const t = tag();
    const reserved = `strasse${t}`;
    const preset = await call('POST', '/invites', { body: { username: reserved } });
    const other = await call('POST', '/invites', { body: {} });
    expect([preset.status, other.status]).toEqual([201, 201]);

    // Act
    const stolen = await call('POST', `/invites/${other.body.token}/redeem`, {
      auth: false,
      body: { username: `straße${t}`, password: 'the thief password' },
    });
    const rightful = await call('POST', `/invites/${preset.body.token}/redeem`, { auth: false, body: { password: PASSWORD } });

    // Assess
    expect([stolen.status, stolen.body.error]).toEqual([400, 'username-invalid']);
    expect([rightful.status, rightful.body]).toEqual([201, { jid: `${reserved}@localhost` }]);
    expect(prosodyAccounts().has(reserved)).toBe(true);
    expect(await canLogin(`${reserved}@localhost`, PASSWORD)).toBe(true);
    expect(await canLogin(`${reserved}@localhost`, 'the thief password')).toBe(false);
    expect((await call('GET', `/invites/by-id/${preset.body.id}`, {})).body.redemptions).toEqual([
      { jid: `${reserved}@localhost`, kind: 'account', at: expect.any(String) },
    ]);
  }, 120_000);
});

describe('Use case: redeemInvite with USERNAME_UNICODE=true (DynamoDB Local + real Prosody and ejabberd)', () => {
  const actor: Actor = { source: 'cli', domains: ['*'], admin: true, allowReset: true };
  let ej: LocalEjabberd;
  let config: Config;
  let store: DynamoDBInviteStore;
  let registry: ProvisionerRegistryFromConfig;

  beforeAll(async () => {
    ej = await startEjabberd();
    const p = stack().prosody;
    config = loadConfig({
      INVITES_TABLE: stack().env.INVITES_TABLE,
      CLAIM_KEY: stack().env.CLAIM_KEY,
      USERNAME_UNICODE: 'true',
      XMPP_SERVERS: JSON.stringify({
        [p.domain]: { kind: 'prosody', service: p.service, adminJid: p.adminJid, adminPassword: p.adminPassword },
        [ej.domain]: { kind: 'ejabberd', service: ej.service, adminJid: ej.adminJid, adminPassword: ej.adminPassword, apiUrl: ej.apiUrl },
      }),
    });
    store = new DynamoDBInviteStore({ tableName: config.tableName, client: documentClientForStack() });
    registry = new ProvisionerRegistryFromConfig(config.xmpp, { tlsCaFile: p.caFile });
  });
  afterAll(async () => {
    await registry?.close();
    await ej?.stop();
  });

  /** Redeems through the use case; the outcome as expectTruthful reads it. */
  const redeemOn = async (domain: string, username: string): Promise<Outcome> => {
    const { invite, token } = await issueInvite({ store, clock: systemClock, config }, actor, { domain });
    try {
      const result = await redeemInvite({ store, xmpp: registry, clock: systemClock, config, claimKey: claimKeyResolver(config) }, token, {
        username,
        password: PASSWORD,
      });
      const audit = await store.getWithRedemptions(invite.id);
      return { jid: result.jid, recorded: (audit?.redemptions ?? []).map((r) => r.jid) };
    } catch (e) {
      if (isInviteError(e)) return { error: e.code };
      throw e;
    }
  };

  const ejabberdServer = (): Server => ({
    domain: ej.domain,
    // ejabberd's own list of what it stored, one localpart per line.
    accounts: () => new Set(ej.ctl('registered_users', ej.domain).split('\n').filter(Boolean)),
    login: (jid, password) => canLogin(jid, password, ej),
  });

  const truthfulOn = async (server: Server) => {
    // Prepare
    const all = cases();

    // Act
    const outcomes: Outcome[] = [];
    for (const c of all) outcomes.push(await redeemOn(server.domain, c.input));

    // Assess
    const stored = server.accounts();
    for (const [i, c] of all.entries()) await expectTruthful(server, stored, c, c.unicode, outcomes[i] as Outcome);
  };

  it('on Prosody: each username is refused with username-invalid, or created exactly as reported', async () => {
    await truthfulOn(prosodyServer());
  }, 180_000);

  it('on ejabberd: each username is refused with username-invalid, or created exactly as reported', async () => {
    await truthfulOn(ejabberdServer());
  }, 180_000);

  it('reserves a Unicode preset under the name the server creates, and refuses the nodeprep spelling of it elsewhere', async () => {
    // Prepare
    const t = tag();
    const issue = (username?: string) =>
      issueInvite({ store, clock: systemClock, config }, actor, { domain: ej.domain, ...(username ? { username } : {}) });
    const preset = await issue(`Élodie${t}`);
    const other = await issue();

    // Act
    const taken = await redeemInvite(
      { store, xmpp: registry, clock: systemClock, config, claimKey: claimKeyResolver(config) },
      other.token,
      { username: `élodie${t}`, password: 'the thief password' }
    ).catch((e: unknown) => e);
    const result = await redeemInvite(
      { store, xmpp: registry, clock: systemClock, config, claimKey: claimKeyResolver(config) },
      preset.token,
      { password: PASSWORD }
    );

    // Assess
    expect(preset.invite.username).toBe(`élodie${t}`);
    expect(isInviteError(taken) && taken.code).toBe('username-taken');
    expect(result.jid).toBe(`élodie${t}@${ej.domain}`);
    expect(ejabberdServer().accounts().has(`élodie${t}`)).toBe(true);
    expect(await canLogin(result.jid, PASSWORD, ej)).toBe(true);
    expect(normalizeLocalpart(`ÉLODIE${t}`, usernamePolicy(config))).toBe(`élodie${t}`);
  }, 120_000);
});
