import { dictionary } from '@zxcvbn-ts/language-common';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { assertUncommonPassword, isCommonPassword } from '../../lib/invites/password.js';

describe('Function: isCommonPassword (the zxcvbn-ts common-password list)', () => {
  it.each([
    ['password'],
    ['12345678'],
    ['Password1'],
    ['qwertyuiop'],
    ['p4ssw0rd'],
    ['iloveyou1'],
    ['zaq12wsx'],
    ['letmein123'],
    ['dragon2024!'],
    ['Sunshine!!'],
  ])('refuses %s with password-weak', async (password) => {
    expect(await isCommonPassword(password)).toBe(true);
    await expect(assertUncommonPassword(password)).rejects.toMatchObject({ code: 'password-weak' });
  });

  it.each([['correct horse battery'], ['another horse battery'], ['Tr0ub4dor&3x'], ['xk3#Lp9q-vv'], ['ωμέγα-2024-λ']])(
    'accepts %s',
    async (password) => {
      expect(await isCommonPassword(password)).toBe(false);
      await expect(assertUncommonPassword(password)).resolves.toBeUndefined();
    }
  );
});

describe('The common-password list in a bundle', () => {
  it("is the package's whole passwords-common list, every entry refused", async () => {
    const list = dictionary['passwords-common'];
    expect(list.length).toBeGreaterThan(40_000);
    for (const password of list) expect(await isCommonPassword(password), password).toBe(true);
  });

  it("brings the list alone, not the package's diceware list and keyboard graphs", async () => {
    const result = await build({
      entryPoints: [new URL('../../lib/invites/password.ts', import.meta.url).pathname],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'silent',
    });
    const zxcvbn = Object.keys(result.metafile.inputs).filter((i) => i.includes('@zxcvbn-ts/language-common'));
    expect(zxcvbn).toHaveLength(1);
    expect(zxcvbn[0]).toMatch(/passwords\.json\.mjs$/);
  });
});
