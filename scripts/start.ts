/**
 * `npm start`: the whole stack on this machine, in one command.
 * DynamoDB Local (in memory) with the table from infra/, a private XMPP
 * server on loopback (unless XMPP_* point at an existing server), and the
 * functions served by serverless-offline on PORT (default 3000). Ctrl-C
 * stops it all. LOCAL_XMPP chooses the server: prosody (default, the
 * system's), prosody-13, ejabberd (the system's) or ejabberd-24; the newer
 * ones come from Debian bookworm-backports (scripts/local/backports.ts).
 */
import { isApiKeySecret } from '../lib/apiKeys/apiKeys.js';
import { loadConfig } from '../lib/config.js';
import { localXmppFrom, type LocalXmpp } from './local/backports.js';
import { startStack } from './local/stack.js';

/** A bad setting gets one line naming it, before anything starts. */
const refuse = (message: string): never => {
  console.error(`npm start: ${message}`);
  process.exit(2);
};

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) refuse(`PORT must be a TCP port number, got ${JSON.stringify(process.env.PORT)}`);
const external = Boolean(process.env.XMPP_SERVERS || process.env.XMPP_DOMAIN);
let xmpp: LocalXmpp = 'prosody';
try {
  xmpp = localXmppFrom(process.env.LOCAL_XMPP);
} catch (e) {
  refuse((e as Error).message);
}
const passthrough = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k, v]) =>
      v !== undefined &&
      /^(XMPP_|INVITES_|REGISTRATION_|PASSWORD_|USERNAME_|MAX_BODY|SIGNUP_|WEBHOOK|RATE_|QUOTA_|PROTECTED_JIDS|CLAIM_KEY)/.test(k)
  ) as [string, string][]
);
const devApiKey = process.env.INVITES_DEV_API_KEY || undefined;
if (devApiKey !== undefined && !isApiKeySecret(devApiKey)) {
  refuse('INVITES_DEV_API_KEY must look like xik_ followed by 43 base64url characters (unset it for a random key)');
}
try {
  loadConfig(passthrough);
} catch (e) {
  refuse((e as Error).message);
}

const stack = await startStack({
  port,
  prosody: !external,
  xmpp,
  devApiKey,
  env: passthrough,
  log: (line) => console.log(`- ${line}`),
});

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping...');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
stack.offline?.process.once('exit', () => {
  if (stopping) return;
  console.error(`serverless-offline exited:\n${stack.offline?.output().slice(-4000)}`);
  void shutdown();
});

const base = stack.baseUrl as string;
const p = stack.server;
console.log(`
xmpp-invites is running.

  API base URL     ${base}
  Dev API key      ${stack.apiKey}
  DynamoDB Local   ${stack.dynamodb.endpoint} (table ${stack.env.INVITES_TABLE})
${
  p
    ? `  XMPP server      ${p.label} at ${p.service} (domain ${p.domain}, admin ${p.adminJid} / ${p.adminPassword})
                   data in ${p.dir}; log in with any XMPP client on 127.0.0.1:${p.c2sPort}
                   (self-signed certificate: ${p.caFile})
  Server module    ${p.xmppInvites ? 'mod_xmpp_invites loaded: in-app invites on (XMPP_IN_APP_INVITES=true)' : 'none'}`
    : `  XMPP server      ${process.env.XMPP_SERVICE ?? 'from XMPP_SERVERS'}`
}

Issue a first invite:

  curl -s -X POST ${base}/invites \\
    -H 'Authorization: Bearer ${stack.apiKey}' -H 'Content-Type: application/json' \\
    -d '{"inviter": "${p?.adminJid ?? 'admin@example.com'}", "note": "my first invite"}'

Then open its landingUrl, check it with GET ${base}/invites/TOKEN, or redeem it:

  curl -s -X POST ${base}/invites/TOKEN/redeem -H 'Content-Type: application/json' \\
    -d '{"username": "juliet", "password": "a long passphrase"}'
${
  p?.xmppInvites
    ? `
Or register from a real app: this ${p.label} runs mod_xmpp_invites, so the
invite's uri (xmpp:${p.domain}?register;preauth=TOKEN) works in Conversations.
With an Android phone or emulator on adb:

  adb reverse tcp:5222 tcp:${p.c2sPort}
  adb shell am start -a android.intent.action.VIEW -d 'xmpp:${p.domain}?register;preauth=TOKEN'

The app connects to ${p.domain}:5222 (forwarded here); the certificate is
self-signed: accept it when the app asks (it is ${p.caFile}).
`
    : ''
}
Press Ctrl-C to stop everything.
`);
