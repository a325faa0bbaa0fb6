import { describe, expect, it } from 'vitest';
import { keyInputOf } from '../../lib/web/console/keys.js';

/** The console's create-key form (lib/web/console/keys.ts) as the use case's input. */
describe('keyInputOf', () => {
  it('reads repeated domain checkboxes, the quota, the reset box and the inviters field', () => {
    expect(
      keyInputOf({
        name: ' form ',
        domain: ['a.example', ' ', 'b.example'],
        maxLiveInvites: '5',
        allowReset: '1',
        inviters: 'a@a.example, b@a.example c@a.example',
      })
    ).toEqual({
      name: 'form',
      kind: 'api',
      domains: ['a.example', 'b.example'],
      maxLiveInvites: 5,
      allowReset: true,
      inviters: ['a@a.example', 'b@a.example', 'c@a.example'],
    });
    expect(keyInputOf({ name: 'x', domain: '*', inviters: 'ANY' })).toMatchObject({
      domains: ['*'],
      inviters: 'any',
      allowReset: undefined,
    });
    expect(keyInputOf({ name: 'x', domain: 'a.example', inviters: 'none', kind: 'xmpp-server' })).toMatchObject({
      inviters: [],
      kind: 'xmpp-server',
    });
    expect(keyInputOf({ name: 'x' })).toMatchObject({ domains: [], inviters: undefined, maxLiveInvites: undefined });
  });

  it('refuses an unknown kind and a quota that is not a whole number (400)', () => {
    expect(() => keyInputOf({ name: 'x', kind: 'root' })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
    expect(() => keyInputOf({ name: 'x', maxLiveInvites: '-1' })).toThrow(expect.objectContaining({ code: 'invalid-request' }));
  });
});
