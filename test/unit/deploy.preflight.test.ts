/**
 * The deploy preflight (lib/deploy/preflight.ts) against a fake parameter
 * store (there is no AWS here), and the SSM adapter against a fake client.
 */
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { SsmParameterStore } from '../../lib/adapters/aws/SsmParameterStore.js';
import { optionOf, preflight, preflightMessage } from '../../lib/deploy/preflight.js';
import type { ParameterStore } from '../../lib/ports/ParameterStore.js';

class FakeParameters implements ParameterStore {
  readonly asked: string[][] = [];
  constructor(private readonly stored: Record<string, string>) {}
  public async types(names: string[]) {
    this.asked.push(names);
    return new Map(names.filter((n) => n in this.stored).map((n) => [n, this.stored[n] as string]));
  }
}

const P = '/xmpp-invites/prod';
/** A production configuration naming every kind of secret. */
const env = {
  XMPP_SERVERS: JSON.stringify({
    'example.com': {
      kind: 'prosody',
      service: 'xmpps://xmpp.example.com:5223',
      adminJid: 'invites@example.com',
      adminPasswordParameter: `${P}/xmpp/example.com`,
    },
    'example.org': {
      kind: 'ejabberd',
      apiUrl: 'https://xmpp.example.org/api',
      adminJid: 'invites@example.org',
      adminPasswordParameter: `${P}/xmpp/example.org`,
    },
  }),
  SIGNUP_SOURCES: JSON.stringify({ newsletter: { secretParameter: `${P}/hooks/signup/newsletter` } }),
  WEBHOOK_ENDPOINTS: JSON.stringify({ ops: { url: 'https://ops.example.net/hooks', secretParameter: `${P}/hooks/out/ops` } }),
};
const all = [
  `${P}/xmpp/example.com`,
  `${P}/xmpp/example.org`,
  `${P}/claims/fingerprint-key`,
  `${P}/hooks/signup/newsletter`,
  `${P}/hooks/out/ops`,
];

describe('Function: preflight', () => {
  it('passes when every parameter the configuration names exists, the claim key at its default path included', async () => {
    const store = new FakeParameters(Object.fromEntries(all.map((n) => [n, 'SecureString'])));
    const result = await preflight(store, env, 'prod');
    expect(result).toMatchObject({ ok: true, problems: [], warnings: [] });
    expect(store.asked.flat().sort()).toEqual([...all].sort());
    expect(preflightMessage(result, 'prod')).toBe('preflight: stage prod: all 5 SSM parameters exist');
  });

  it('lists every missing parameter in one message, with the setting that names it', async () => {
    const store = new FakeParameters({ [`${P}/xmpp/example.com`]: 'SecureString', [`${P}/hooks/out/ops`]: 'SecureString' });
    const result = await preflight(store, env, 'prod');
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      `missing SSM parameter ${P}/xmpp/example.org (the admin password of the XMPP server for example.org)`,
      `missing SSM parameter ${P}/claims/fingerprint-key (the claim fingerprint key (CLAIM_KEY_PARAMETER))`,
      `missing SSM parameter ${P}/hooks/signup/newsletter (the secret of signup source "newsletter")`,
    ]);
    const message = preflightMessage(result, 'prod');
    expect(message.split('\n')).toHaveLength(4);
    expect(message).toContain('stage prod cannot be deployed yet');
  });

  it('checks the stage it deploys: another stage names other parameters, and only its own', async () => {
    const staging = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('/prod/', '/staging/')]));
    const store = new FakeParameters({});
    const result = await preflight(store, staging, 'staging');
    expect(store.asked.flat().sort()).toEqual(all.map((n) => n.replace('/prod/', '/staging/')).sort());
    expect(result.problems).toHaveLength(5);
    // A prod secret named in the staging configuration: the functions could not read it.
    const mixed = await preflight(new FakeParameters({}), { ...staging, SIGNUP_SOURCES: env.SIGNUP_SOURCES }, 'staging');
    expect(mixed.problems).toEqual([expect.stringMatching(/SIGNUP_SOURCES.*must be under \/xmpp-invites\/staging\/hooks\/signup\//)]);
  });

  it('refuses secrets given in plain text, which would not reach the functions or would sit in their environment', async () => {
    const store = new FakeParameters({});
    const result = await preflight(
      store,
      {
        XMPP_KIND: 'prosody',
        XMPP_DOMAIN: 'example.com',
        XMPP_SERVICE: 'xmpps://xmpp.example.com:5223',
        XMPP_ADMIN_JID: 'invites@example.com',
        XMPP_ADMIN_PASSWORD: 'a-local-password',
        SIGNUP_SOURCES: JSON.stringify({ form: { secret: 'not-in-a-lambda-environment' } }),
        CLAIM_KEY_PARAMETER: `${P}/claims/k`,
      },
      'prod'
    );
    expect(result.problems).toEqual([
      'the XMPP server for example.com has its admin password in plain text: give adminPasswordParameter (XMPP_ADMIN_PASSWORD_PARAMETER) instead',
      `SIGNUP_SOURCES["form"] has its secret in plain text: give secretParameter instead`,
      `missing SSM parameter ${P}/claims/k (the claim fingerprint key (CLAIM_KEY_PARAMETER))`,
    ]);
  });

  it('says when no XMPP server is configured, and warns about a secret stored as a plain String', async () => {
    const none = await preflight(new FakeParameters({}), {}, 'prod');
    expect(none.problems[0]).toMatch(/^no XMPP server is configured/);
    const plain = await preflight(
      new FakeParameters(Object.fromEntries(all.map((n) => [n, n.includes('/claims/') ? 'String' : 'SecureString']))),
      env,
      'prod'
    );
    expect(plain.ok).toBe(true);
    expect(plain.warnings).toEqual([
      `SSM parameter ${P}/claims/fingerprint-key is a String, not a SecureString (the claim fingerprint key (CLAIM_KEY_PARAMETER))`,
    ]);
  });

  it('reports a configuration error as the one problem, before asking SSM anything', async () => {
    const store = new FakeParameters({});
    const result = await preflight(store, { XMPP_SERVERS: '{not json' }, 'prod');
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.stringMatching(/^configuration XMPP_SERVERS/)]);
    expect(store.asked).toEqual([]);
  });

  it('lists what the configuration lacks even when SSM cannot be read', async () => {
    const unreachable: ParameterStore = {
      types: async () => {
        throw new Error('Could not load credentials from any providers');
      },
    };
    const result = await preflight(
      unreachable,
      { SIGNUP_SOURCES: JSON.stringify({ form: { secret: 'sixteen-or-more-characters' } }) },
      'prod'
    );
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.stringMatching(/^no XMPP server is configured/),
      expect.stringMatching(/^SIGNUP_SOURCES\["form"\] has its secret in plain text/),
      expect.stringMatching(/^cannot read the SSM parameters \(Could not load credentials from any providers\)/),
    ]);
  });

  it('reads the stage and region the way serverless does', () => {
    expect(optionOf(['--stage', 'prod'], 'stage', 's')).toBe('prod');
    expect(optionOf(['--stage=prod', '--verbose'], 'stage', 's')).toBe('prod');
    expect(optionOf(['-s', 'prod'], 'stage', 's')).toBe('prod');
    expect(optionOf(['--verbose'], 'stage', 's')).toBeUndefined();
    expect(optionOf(['--region', 'eu-central-1'], 'region', 'r')).toBe('eu-central-1');
  });
});

describe('Adapter: SsmParameterStore', () => {
  it('asks GetParameters ten names at a time, without decryption, and returns the types of those that exist', async () => {
    const calls: { Names: string[]; WithDecryption?: boolean }[] = [];
    const client = {
      send: async (command: GetParametersCommand) => {
        expect(command).toBeInstanceOf(GetParametersCommand);
        const input = command.input as { Names: string[]; WithDecryption?: boolean };
        calls.push(input);
        return {
          Parameters: input.Names.filter((n) => !n.endsWith('7')).map((Name) => ({ Name, Type: 'SecureString' })),
          InvalidParameters: input.Names.filter((n) => n.endsWith('7')),
        };
      },
    };
    const names = Array.from({ length: 23 }, (_, i) => `/p/${i}`);
    const types = await new SsmParameterStore(client as never).types([...names, '/p/1']);
    expect(calls.map((c) => c.Names.length)).toEqual([10, 10, 3]);
    expect(calls.every((c) => c.WithDecryption === false)).toBe(true);
    expect([...types.keys()].sort()).toEqual(names.filter((n) => !n.endsWith('7')).sort());
  });
});
