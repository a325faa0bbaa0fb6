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
