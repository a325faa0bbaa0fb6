import { describe, expect, it } from 'vitest';
import { inAppInvites, loadConfig } from '../../lib/config.js';
import { DEFAULT_CLIENTS } from '../../lib/web/clients.js';

/** The one line a bad setting is refused with. */
const refusal = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
};

describe('Function: loadConfig', () => {
  it('has sane defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      domains: ['localhost'],
      defaultTtlSeconds: 604800,
      registrationInviteOnly: true,
      passwordMinLength: 8,
      xmpp: {},
    });
  });
  it('reads XMPP servers per domain, and the single-server shorthand', () => {
    const c = loadConfig({
      XMPP_SERVERS: JSON.stringify({
        'A.example': {
          kind: 'prosody',
          service: 'xmpps://xmpp.a.example:5223',
          adminJid: 'admin@a.example',
          adminPasswordParameter: '/x/a',
        },
        'b.example': {
          kind: 'ejabberd',
          service: 'xmpp://xmpp.b.example:5222',
          adminJid: 'admin@b.example',
          apiUrl: 'https://b.example/api',
          adminPassword: 'pw',
        },
      }),
    });
    expect(c.domains).toEqual(['a.example', 'b.example']);
    expect(c.xmpp['b.example']?.kind).toBe('ejabberd');
    const s = loadConfig({ XMPP_DOMAIN: 'c.example', XMPP_ADMIN_JID: 'admin@c.example', XMPP_ADMIN_PASSWORD: 'pw' });
    expect(s.xmpp['c.example']).toMatchObject({ kind: 'prosody', service: 'xmpp://127.0.0.1:5222', adminPassword: 'pw' });
  });
  it('says per domain whether its server runs the module (default no)', () => {
    const c = loadConfig({
      XMPP_SERVERS: JSON.stringify({
        'a.example': {
          kind: 'prosody',
          service: 'xmpp://a.example:5222',
          adminJid: 'admin@a.example',
          adminPassword: 'pw',
          inAppInvites: true,
        },
        'b.example': { kind: 'prosody', service: 'xmpp://b.example:5222', adminJid: 'admin@b.example', adminPassword: 'pw' },
      }),
    });
    expect([inAppInvites(c, 'a.example'), inAppInvites(c, 'b.example'), inAppInvites(c, 'unknown.example')]).toEqual([true, false, false]);
    const shorthand = (v?: string) =>
      inAppInvites(
        loadConfig({ XMPP_DOMAIN: 'c.example', XMPP_ADMIN_JID: 'admin@c.example', XMPP_ADMIN_PASSWORD: 'pw', XMPP_IN_APP_INVITES: v }),
        'c.example'
      );
    expect([shorthand(undefined), shorthand('true'), shorthand('false')]).toEqual([false, true, false]);
    expect(() => shorthand('sometimes')).toThrow(/XMPP_IN_APP_INVITES/);
    expect(() =>
      loadConfig({
        XMPP_SERVERS: JSON.stringify({
          'a.example': { kind: 'prosody', service: 'xmpp://a:5222', adminJid: 'x@a.example', adminPassword: 'pw', inAppInvites: 'yes' },
        }),
      })
    ).toThrow(/inAppInvites/);
  });
  it('refuses broken configuration loudly', () => {
    expect(() => loadConfig({ XMPP_SERVERS: '{nope' })).toThrow(/XMPP_SERVERS/);
    expect(() => loadConfig({ XMPP_SERVERS: JSON.stringify({ 'a.example': { kind: 'openfire' } }) })).toThrow(/kind/);
    const prosody = { kind: 'prosody', service: 'xmpp://x.example:5222', adminJid: 'admin@a.example' };
    // A misspelt field or a missing password is named at start, not found by the first redeem.
    expect(() => loadConfig({ XMPP_SERVERS: JSON.stringify({ 'a.example': { ...prosody, adminPasswordParam: '/x' } }) })).toThrow(
      /^configuration XMPP_SERVERS\["a\.example"\]: unknown field "adminPasswordParam"/
    );
    expect(() => loadConfig({ XMPP_SERVERS: JSON.stringify({ 'a.example': prosody }) })).toThrow(/adminPassword/);
    expect(() => loadConfig({ XMPP_SERVERS: JSON.stringify({ 'a.example': [] }) })).toThrow(/must be an object/);
    expect(() => loadConfig({ CLAIM_KEY: 'short' })).toThrow(/CLAIM_KEY/);
    expect(() => loadConfig({ PROTECTED_JIDS: 'not a jid' })).toThrow(/PROTECTED_JIDS/);
    expect(() =>
      loadConfig({
        SECRETS_PATH: '/xmpp-invites/prod',
        XMPP_SERVERS: JSON.stringify({ 'a.example': { ...prosody, adminPasswordParameter: '/xmpp-invites/prod/a.example' } }),
      })
    ).toThrow(/must be under \/xmpp-invites\/prod\/xmpp\//);
    expect(() => loadConfig({ REGISTRATION_INVITE_ONLY: 'maybe' })).toThrow(/REGISTRATION_INVITE_ONLY/);
    expect(() => loadConfig({ INVITES_DEFAULT_TTL_SECONDS: '-1' })).toThrow(/INVITES_DEFAULT_TTL_SECONDS/);
  });
});

describe('Function: loadConfig, one line per bad setting', () => {
  it('names the JSON path or the shorthand variable a server field came from', () => {
    const prosody = { kind: 'prosody', service: 'xmpp://x.example:5222', adminPassword: 'pw' };
    expect(refusal({ XMPP_SERVERS: JSON.stringify({ 'a.example': { ...prosody, adminJid: 'not a jid' } }) })).toBe(
      'configuration XMPP_SERVERS["a.example"].adminJid must be a bare JID'
    );
    expect(refusal({ XMPP_SERVERS: JSON.stringify({ 'a b': { ...prosody, adminJid: 'admin@a.example' } }) })).toBe(
      'configuration XMPP_SERVERS["a b"]: the key must be the XMPP domain, a DNS name'
    );
    const shorthand = { XMPP_DOMAIN: 'c.example', XMPP_ADMIN_JID: 'admin@c.example', XMPP_ADMIN_PASSWORD: 'pw' };
    expect(refusal({ ...shorthand, XMPP_KIND: 'openfire' })).toBe('configuration XMPP_KIND must be "prosody" or "ejabberd"');
    expect(refusal({ ...shorthand, XMPP_SERVICE: 'c.example:5222' })).toBe('configuration XMPP_SERVICE must look like xmpp://host:port');
    expect(refusal({ ...shorthand, XMPP_DOMAIN: 'c example' })).toBe('configuration XMPP_DOMAIN must be a DNS name');
  });

  it('names a bad domain in a list', () => {
    expect(refusal({ INVITES_DOMAINS: 'a.example, b example' })).toBe('configuration INVITES_DOMAINS: "b example" must be a DNS name');
  });
});

describe('Function: loadConfig, SIGNUP_SOURCES', () => {
  const secret = 'secret-0123456789abcdef';
  const sources = (value: unknown) => refusal({ SIGNUP_SOURCES: JSON.stringify(value) });

  it('reads sources by name, with their defaults', () => {
    const { signupSources } = loadConfig({ SIGNUP_SOURCES: JSON.stringify({ news: { secret, domain: 'Example.COM' } }) });
    expect(signupSources.news).toEqual({
      secret,
      secretParameter: undefined,
      domain: 'example.com',
      type: 'account',
      inviter: undefined,
      fields: { eventId: 'eventId' },
      groups: [],
      roles: [],
      ttlSeconds: undefined,
      maxUses: 1,
      maxLiveInvites: undefined,
    });
    expect(Object.getPrototypeOf(signupSources)).toBeNull();
    expect(loadConfig({ SIGNUP_SOURCES: '' }).signupSources).toEqual({});
  });

  it('rejects a source without a secret, with unlimited uses, or with unknown settings', () => {
    expect(sources({ f: {} })).toMatch(/^configuration SIGNUP_SOURCES\["f"\] needs secret or secretParameter$/);
    expect(sources({ f: { secret, maxUses: null } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]\.maxUses must be a positive integer$/);
    expect(sources({ f: { secret, admin: true } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]: unknown field "admin" \(known: /);
    expect(sources({ f: { secret: 'short' } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]\.secret must be .*16 characters/);
  });

  it('names each other fault in one line', () => {
    expect(refusal({ SIGNUP_SOURCES: '{"f":' })).toMatch(/^configuration SIGNUP_SOURCES must be a JSON object keyed by name \(.+\)$/);
    expect(sources([])).toBe('configuration SIGNUP_SOURCES must be a JSON object keyed by name');
    expect(sources({ 'a b': { secret } })).toMatch(/^configuration SIGNUP_SOURCES\["a b"\]: the name must be/);
    expect(sources({ f: 'x' })).toBe('configuration SIGNUP_SOURCES["f"] must be an object');
    expect(sources({ f: { secret, type: 'reset' } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]\.type must be account or contact$/);
    expect(sources({ f: { secret, inviter: 'not a jid' } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]\.inviter must be a bare JID$/);
    expect(sources({ f: { secret, domain: 'a b' } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]\.domain must be a DNS name$/);
    expect(sources({ f: { secret, fields: { id: 'x' } } })).toMatch(/^configuration SIGNUP_SOURCES\["f"\]\.fields: unknown field "id"/);
    expect(sources({ f: { secret, fields: { eventId: 'a b' } } })).toMatch(/\.fields\.eventId must be a field name or a dotted path$/);
    expect(sources({ f: { secret, groups: [''] } })).toMatch(/\.groups must be a list of at most 20 non-empty strings$/);
  });

  it('keeps every secret parameter under its path', () => {
    expect(refusal({ SECRETS_PATH: '/p', SIGNUP_SOURCES: JSON.stringify({ f: { secretParameter: '/p/hooks/out/f' } }) })).toMatch(
      /^configuration SIGNUP_SOURCES\["f"\]\.secretParameter: the SSM parameter \/p\/hooks\/out\/f must be under \/p\/hooks\/signup\//
    );
  });
});

describe('Function: loadConfig, WEBHOOK_ENDPOINTS', () => {
  const endpoints = (value: unknown) => refusal({ WEBHOOK_ENDPOINTS: JSON.stringify(value) });

  it('defaults endpoints to every invite event (containment and brake events only when named) and checks their URL and event names', () => {
    expect(loadConfig({ WEBHOOK_ENDPOINTS: '{"a":{"url":"https://example.com/h","secretParameter":"/x/y"}}' }).webhooks.endpoints).toEqual([
      {
        name: 'a',
        url: 'https://example.com/h',
        secret: undefined,
        secretParameter: '/x/y',
        events: ['invite.created', 'invite.redeemed', 'invite.revoked', 'invite.expired'],
        domains: undefined,
      },
    ]);
    expect(endpoints({ a: { url: 'ftp://x', secretParameter: '/x' } })).toBe(
      'configuration WEBHOOK_ENDPOINTS["a"].url must be an http(s) URL'
    );
    expect(endpoints({ a: { url: 'https://x', secretParameter: '/x', events: ['invite.used'] } })).toBe(
      'configuration WEBHOOK_ENDPOINTS["a"].events: unknown event "invite.used"'
    );
  });

  it('names each other fault in one line', () => {
    expect(refusal({ WEBHOOK_ENDPOINTS: 'nope' })).toMatch(/^configuration WEBHOOK_ENDPOINTS must be a JSON object keyed by name \(.+\)$/);
    expect(endpoints({ a: { url: 'https://x', secretParameter: '/x', event: ['invite.created'] } })).toMatch(
      /^configuration WEBHOOK_ENDPOINTS\["a"\]: unknown field "event" \(known: url, secret, secretParameter, events, domains\)$/
    );
    expect(endpoints({ a: { url: 'https://x' } })).toBe('configuration WEBHOOK_ENDPOINTS["a"] needs secret or secretParameter');
    expect(endpoints({ a: { url: 'https://x', secretParameter: 'x' } })).toMatch(
      /^configuration WEBHOOK_ENDPOINTS\["a"\]\.secretParameter must be/
    );
    expect(endpoints({ a: { url: 'https://x', secretParameter: '/x', domains: ['a b'] } })).toBe(
      'configuration WEBHOOK_ENDPOINTS["a"].domains must be a DNS name'
    );
    expect(
      loadConfig({ WEBHOOK_ENDPOINTS: JSON.stringify({ a: { url: 'https://x', secretParameter: '/x', domains: ['A.example'] } }) }).webhooks
        .endpoints[0]?.domains
    ).toEqual(['a.example']);
  });
});

describe('Function: loadConfig, INVITES_CLIENTS', () => {
  const clients = (value: unknown) => refusal({ INVITES_CLIENTS: JSON.stringify(value) });
  const app = { name: 'X', platform: 'web', url: 'https://x/', invites: true };

  it('uses the defaults when unset and reads a configured list', () => {
    expect(loadConfig({}).webClients).toEqual(DEFAULT_CLIENTS);
    expect(loadConfig({ INVITES_CLIENTS: '' }).webClients).toEqual(DEFAULT_CLIENTS);
    expect(
      loadConfig({ INVITES_CLIENTS: '[{"name":"Cheogram","platform":"android","url":"https://cheogram.com/","invites":true}]' }).webClients
    ).toEqual([{ name: 'Cheogram', platform: 'android', url: 'https://cheogram.com/', invites: true }]);
  });

  it('rejects a malformed list at startup', () => {
    expect(refusal({ INVITES_CLIENTS: '{' })).toMatch(/JSON array/);
    expect(clients([{ ...app, platform: 'palm' }])).toMatch(/platform/);
    expect(clients([{ ...app, url: 'javascript:alert(1)' }])).toMatch(/url/);
    expect(clients([{ ...app, invites: 'yes' }])).toMatch(/invites/);
    expect(clients([{ ...app, magicLink: 'https://x/' }])).toMatch(/\{uri\}/);
  });

  it('names each fault in one line, a misspelt field included', () => {
    expect(refusal({ INVITES_CLIENTS: '[' })).toMatch(/^configuration INVITES_CLIENTS must be a JSON array of at most 50 apps \(.+\)$/);
    expect(clients({})).toBe('configuration INVITES_CLIENTS must be a JSON array of at most 50 apps');
    expect(clients(Array(51).fill(app))).toBe('configuration INVITES_CLIENTS must be a JSON array of at most 50 apps');
    expect(clients([app, null])).toBe('configuration INVITES_CLIENTS[1] must be an object');
    expect(clients([{ ...app, magiclink: 'https://x/{uri}' }])).toMatch(
      /^configuration INVITES_CLIENTS\[0\]: unknown field "magiclink" \(known: /
    );
    expect(clients([{ ...app, platform: 'palm' }])).toBe(
      'configuration INVITES_CLIENTS[0].platform must be one of android, ios, desktop, web'
    );
  });
});

describe('Function: loadConfig, the invitation policy', () => {
  it('has no limits unless set, and reads each as an integer of at least 1', () => {
    expect(loadConfig({}).invitePolicy).toEqual({ invitesPerInviterPerWeek: undefined, maxRegistrationsPerHour: undefined });
    expect(loadConfig({ INVITES_PER_INVITER_PER_WEEK: '', MAX_REGISTRATIONS_PER_HOUR: '' }).invitePolicy).toEqual({
      invitesPerInviterPerWeek: undefined,
      maxRegistrationsPerHour: undefined,
    });
    expect(loadConfig({ INVITES_PER_INVITER_PER_WEEK: '5', MAX_REGISTRATIONS_PER_HOUR: '100' }).invitePolicy).toEqual({
      invitesPerInviterPerWeek: 5,
      maxRegistrationsPerHour: 100,
    });
    expect(refusal({ INVITES_PER_INVITER_PER_WEEK: '0' })).toBe(
      'configuration INVITES_PER_INVITER_PER_WEEK must be an integer >= 1, got "0"'
    );
    expect(refusal({ MAX_REGISTRATIONS_PER_HOUR: '1.5' })).toBe(
      'configuration MAX_REGISTRATIONS_PER_HOUR must be an integer >= 1, got "1.5"'
    );
  });
});
