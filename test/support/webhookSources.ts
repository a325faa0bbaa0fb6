import { randomBytes } from 'node:crypto';

/**
 * Signup sources of the shared test stack (SIGNUP_SOURCES), with fresh
 * secrets each run: `test-form` sends form fields or flat JSON; `nested-form`
 * nests them and serves other.example; `cli-form` is the CLI test's alone.
 */
export const signupTestEnv = (): Record<string, string> => ({
  SIGNUP_SOURCES: JSON.stringify({
    'test-form': {
      secret: randomBytes(24).toString('base64url'),
      fields: { eventId: 'id', username: 'username', email: 'email', note: 'message' },
      groups: ['Signups'],
      ttlSeconds: 3600,
    },
    'nested-form': {
      secret: randomBytes(24).toString('base64url'),
      domain: 'other.example',
      fields: { eventId: 'event.id', name: 'event.data.name', email: 'event.data.email' },
      maxUses: 3,
    },
    // test/integration/cli.test.ts revokes all of its invites: no other file uses it.
    'cli-form': { secret: randomBytes(24).toString('base64url'), fields: { eventId: 'id' } },
  }),
});
