import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { invoke } from './lambda.js';
import { documentClientForStack, stack, uniqueName, useStackEnv } from './stack.js';

/**
 * The two ways an inviter's invite is made (`POST /invites` with an API key,
 * `POST /xmpp/invites` from a server module), with the handlers in this
 * process under the given settings (a handler reads its configuration once,
 * at import: call this in `beforeAll`, once per file). The keys are new ones
 * for `localhost` on the shared stack: a server module's, and a quota'd key
 * that may name any inviter, like a signup form's (the invitation policy's age
 * and depth rules apply to it; admin keys, `stack().apiKey`, are exempt).
 */
export const inviteHandlersWith = async (settings: Record<string, string>) => {
  useStackEnv();
  Object.assign(process.env, settings);
  const { handler: issueHandler } = await import('../../functions/issueInvite.js');
  const { handler: appInvitesHandler } = await import('../../functions/xmppInvites.js');
  const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  const deps = { store: keys, clock: systemClock };
  const { secret: serverKey } = await createApiKey(deps, { name: uniqueName('prosody-'), domains: ['localhost'], kind: 'xmpp-server' });
  const { secret: formKey } = await createApiKey(deps, {
    name: uniqueName('form-'),
    domains: ['localhost'],
    maxLiveInvites: 1000,
    inviters: 'any',
  });
  return {
    /** `POST /invites` naming the inviter, with the form key unless another is given. */
    issueAs: (inviter: string, key = formKey) =>
      invoke(issueHandler, { method: 'POST', path: '/invites', headers: { authorization: `Bearer ${key}` }, body: { inviter } }),
    /** `POST /xmpp/invites` on localhost from the server module (a contact invite unless the body says otherwise). */
    appInvite: (inviter: string, body: Record<string, unknown> = { type: 'contact' }) =>
      invoke(appInvitesHandler, {
        method: 'POST',
        path: '/xmpp/invites',
        headers: { authorization: `Bearer ${serverKey}` },
        body: { domain: 'localhost', inviter, maxLiveInvites: 5, ...body },
      }),
  };
};

export type InviteHandlers = Awaited<ReturnType<typeof inviteHandlersWith>>;
