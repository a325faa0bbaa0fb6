/**
 * The native-app contract (nativeContract.ts) on Prosody 13 (Debian
 * bookworm-backports, installed on first use by scripts/local/backports.ts)
 * with mod_privilege from the matching prosody-modules and our module, on a
 * private instance and a domain of its own (test/support/nativeServers.ts).
 * And what the module tells a Prosody 13 operator who also loads 13's
 * built-in invite modules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKeySecret } from '../../lib/apiKeys/apiKeys.js';
import { startProsody, type LocalProsody } from '../../scripts/local/prosody.js';
import { startProsodyNative } from '../support/nativeServers.js';
import { stack } from '../support/stack.js';
import { nativeAppContract } from './nativeContract.js';

nativeAppContract('Prosody 13', () => startProsodyNative({ version: '13', domain: 'p13native.localhost' }));

describe('mod_xmpp_invites next to Prosody 13 built-in invite modules', () => {
  let prosody: LocalProsody;

  beforeAll(async () => {
    prosody = await startProsody({
      version: '13',
      // 13 ships mod_invites, mod_invites_register and mod_invites_adhoc in core.
      withInvites: true,
      xmppInvites: { url: stack().baseUrl.replace('//localhost:', '//127.0.0.1:'), key: generateApiKeySecret() },
    });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('runs Prosody 13 with its own core modules, and the log names each replaced module at warn level', async () => {
    // Act: modules may still be loading when the c2s port opens.
    const names = ['mod_invites', 'mod_invites_register', 'mod_invites_adhoc'];
    const warned = () =>
      names.filter((name) =>
        prosody
          .log()
          .split('\n')
          .some((l) => l.includes('\twarn\t') && l.includes(`\t${name} is loaded next to mod_xmpp_invites`))
      );
    const until = Date.now() + 10_000;
    while (warned().length < names.length && Date.now() < until) await new Promise((r) => setTimeout(r, 200));

    // Assess
    expect(prosody.label).toMatch(/^Prosody 13\./);
    expect(warned()).toEqual(names);
    // 0.12's modules are not on its path (they would crash it at the first login).
    expect(prosody.log()).not.toMatch(/pposix|get_user_role|Traceback/);
  });
});
