import { keySource, type CreateApiKeyInput } from '../../apiKeys/apiKeys.js';
import { createKey, keyAuditEntries, listKeys, revokeKey, type ManageKeysDeps } from '../../apiKeys/manageKeys.js';
import { InviteError, isInviteError } from '../../errors.js';
import type { ApiKey } from '../../ports/ApiKeyStore.js';
import { html, type Html, type Part } from '../html.js';
import { audited, domainsOf, field, intField, layout, type ConsoleDeps, type ConsoleRoute, type SignedIn } from './core.js';
import { clearedSessionCookie } from './session.js';

/**
 * The console's keys page (#21): list the keys this admin key may manage,
 * create one (its secret shown once), revoke one with or without its live
 * invites. The rules (which keys, which grants) are lib/apiKeys/manageKeys.ts,
 * as for the command line. Keys appear by name and source (`api-key:<12>`,
 * what invites and the audit trail record); forms name them by a handle
 * sealed for the session, never by id.
 */

const manageDeps = (deps: ConsoleDeps): ManageKeysDeps => ({
  store: deps.keys,
  clock: deps.clock,
  domains: deps.config.domains,
  invites: { store: deps.containment.store, clock: deps.clock },
});

interface Created {
  name: string;
  source: string;
  domains: string[];
  secret: string;
}

/** A repeated form field (checkboxes) as a list of its non-blank values. */
const fields = (form: Record<string, unknown>, name: string): string[] =>
  [form[name]]
    .flat()
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter(Boolean);

/** The create form -> the use case's input (createApiKey's validation then applies). */
export const keyInputOf = (form: Record<string, unknown>): Omit<CreateApiKeyInput, 'secret'> => {
  const kind = field(form, 'kind') ?? 'api';
  if (kind !== 'api' && kind !== 'xmpp-server') throw new InviteError('invalid-request', 'kind must be api or xmpp-server');
  const quota = intField(form, 'maxLiveInvites', 'live-invite quota');
  const inviters = field(form, 'inviters');
  return {
    name: field(form, 'name') ?? '',
    kind,
    domains: fields(form, 'domain'),
    maxLiveInvites: quota,
    allowReset: field(form, 'allowReset') === '1' ? true : undefined,
    inviters:
      inviters === undefined
        ? undefined
        : inviters.toLowerCase() === 'any'
          ? 'any'
          : inviters.toLowerCase() === 'none'
            ? []
            : inviters.split(/[\s,]+/).filter(Boolean),
  };
};

export const createKeyFromForm = async (deps: ConsoleDeps, admin: SignedIn, form: Record<string, unknown>): Promise<Created> => {
  const { apiKey, secret } = await createKey(manageDeps(deps), admin.actor, keyInputOf(form));
  for (const entry of keyAuditEntries('key.created', apiKey)) await audited(deps, admin, entry);
  return { name: apiKey.name, source: keySource(apiKey), domains: apiKey.domains, secret };
};

/** Revokes the key of a sealed handle from this session's list (an unknown handle is an unknown key). */
export const revokeKeyFromForm = async (deps: ConsoleDeps, admin: SignedIn, form: Record<string, unknown>) => {
  const revokeInvites = field(form, 'revokeInvites') === '1';
  const { key, revokedInvites } = await revokeKey(manageDeps(deps), admin.actor, admin.open(form.key) ?? '', { revokeInvites });
  const detail: Record<string, number> = revokeInvites ? { revokedInvites: revokedInvites.length } : {};
  for (const entry of keyAuditEntries('key.revoked', key, detail)) await audited(deps, admin, entry);
  return { key, revokedInvites: revokedInvites.length, ownSession: key.id === admin.session.keyId };
};

const day = (epoch: number | undefined): string => (epoch === undefined ? '—' : new Date(epoch * 1000).toISOString().slice(0, 10));

const invitersOf = (k: ApiKey): string =>
  k.kind === 'xmpp-server'
    ? 'its users'
    : (() => {
        const granted = k.inviters ?? (k.maxLiveInvites === undefined ? 'any' : []);
        return granted === 'any' ? 'any' : granted.length === 0 ? 'none' : granted.join(', ');
      })();

const createdCard = (created: Created): Html =>
  html`<section class="card success-card" id="created" aria-labelledby="created-title"><h2 id="created-title">New key “${created.name}”</h2><p><strong>Copy the key now: it will not be shown again.</strong> The service keeps only its hash; if it is lost, revoke it and create another.</p><label for="new-key-secret">API key</label><div class="copy-row"><input type="text" id="new-key-secret" readonly value="${created.secret}" autocomplete="off"><button type="button" class="button small" id="copy-key" data-copy="new-key-secret" hidden>Copy key</button></div><p class="hint">Source <code>${created.source}</code> for ${created.domains.join(', ')}. Use it as <code>Authorization: Bearer &lt;key&gt;</code>.</p></section>`;

const revokeForm = (admin: SignedIn, k: ApiKey): Html => {
  const own = k.id === admin.session.keyId;
  return html`<form method="post" action="/admin/keys/revoke" class="revoke-key"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="key" value="${admin.seal(k.id)}"><label class="check"><input type="checkbox" name="revokeInvites" value="1"> also revoke its live invites</label>${
    own ? html`<p class="hint warn">You are signed in with this key: revoking it ends your session.</p>` : ''
  }<button class="link danger" type="submit">${own ? 'Revoke and sign out' : 'Revoke'}</button></form>`;
};

const row = (admin: SignedIn, k: ApiKey): Html =>
  html`<tr data-source="${keySource(k)}" data-status="${k.revokedAt === undefined ? 'active' : 'revoked'}"><td data-label="Name">${k.name}${
    k.id === admin.session.keyId ? html` <span class="tag">this session</span>` : ''
  }</td><td data-label="Kind">${k.kind}</td><td data-label="Source"><code class="nowrap">${keySource(k)}</code></td><td data-label="Domains">${k.domains.join(', ')}</td><td data-label="Created" class="nowrap">${day(k.createdAt)}</td><td data-label="Revoked" class="nowrap">${
    k.revokedAt === undefined ? '—' : html`<span class="tag status-revoked">${day(k.revokedAt)}</span>`
  }</td><td data-label="Quota">${k.maxLiveInvites ?? 'admin (none)'}</td><td data-label="Reset">${k.allowReset ? 'yes' : 'no'}</td><td data-label="Inviters" class="jid">${invitersOf(k)}</td><td>${
    k.revokedAt === undefined ? revokeForm(admin, k) : ''
  }</td></tr>`;

const createForm = (deps: ConsoleDeps, admin: SignedIn, error?: string): Html => {
  const domains = [...(admin.actor.domains.includes('*') ? ['*'] : []), ...domainsOf(deps, admin.actor)];
  return html`<section class="card" aria-labelledby="create-title"><h2 id="create-title">Create a key</h2>${
    error ? html`<p class="alert" role="alert" data-error="create">${error}</p>` : ''
  }<p class="hint">A key gets at most what yours has: your domains, and the reset grant only if yours has it.</p><form method="post" action="/admin/keys" class="grid"><input type="hidden" name="csrf" value="${admin.csrf}"><div><label for="key-name">Name</label><input type="text" id="key-name" name="name" maxlength="100" required></div><div><label for="key-kind">Kind</label><select id="key-kind" name="kind"><option value="api" selected>api (the HTTP API)</option><option value="xmpp-server">xmpp-server (a server's module)</option></select></div><fieldset class="full"><legend>Domains</legend>${domains.map(
    (d) =>
      html`<label class="check"><input type="checkbox" name="domain" value="${d}"> ${d === '*' ? '* (every domain, now and later)' : d}</label>`
  )}</fieldset><div><label for="key-quota">Live-invite quota (blank: an admin key)</label><input type="text" inputmode="numeric" id="key-quota" name="maxLiveInvites"></div><div><label for="key-inviters">Inviters it may name</label><input type="text" id="key-inviters" name="inviters" placeholder="any, none, or alice@example.org …"><p class="hint">Blank: anyone for an admin key, no one for a key with a quota.</p></div>${
    admin.actor.allowReset
      ? html`<div class="full"><label class="check"><input type="checkbox" name="allowReset" value="1"> may issue password reset invites</label></div>`
      : ''
  }<div class="full"><button class="button" type="submit">Create key</button></div></form></section>`;
};

/** The keys page: maybe a notice or a just-created key's secret (once), the list, the create form. */
export const keysPage = async (
  deps: ConsoleDeps,
  admin: SignedIn,
  extra: { created?: Created; error?: string; notice?: string } = {}
): Promise<string> => {
  const keys = await listKeys(manageDeps(deps), admin.actor);
  const body: Part[] = [
    extra.notice ? html`<p class="success" role="status">${extra.notice}</p>` : '',
    extra.created ? createdCard(extra.created) : '',
    html`<section class="card" aria-labelledby="keys-title"><h1 id="keys-title">API keys</h1><p class="hint">The keys whose every domain is one of yours. Revoking a key ends its console sessions; its invites stay valid unless you also revoke them.</p>${
      keys.length === 0
        ? html`<p class="muted">No keys.</p>`
        : html`<div class="scroll"><table class="keys cards"><thead><tr><th>Name</th><th>Kind</th><th>Source</th><th>Domains</th><th>Created</th><th>Revoked</th><th>Quota</th><th>Reset</th><th>Inviters</th><th></th></tr></thead><tbody>${keys.map(
            (k) => row(admin, k)
          )}</tbody></table></div>`
    }</section>`,
    createForm(deps, admin, extra.error),
  ];
  return layout('Keys', html`${body}`, admin, '/admin/keys');
};

/** After revoking the key of this very session: the session is over. */
const signedOutPage = (revokedInvites: number): string =>
  layout(
    'Key revoked',
    html`<section class="card"><h1>Key revoked</h1><p class="success" role="status">You revoked the key you were signed in with${
      revokedInvites > 0 ? html` and its ${revokedInvites} live invite(s)` : ''
    }, so your session has ended.</p><p><a href="/admin">Sign in with another key</a></p></section>`
  );

/** The keys page's routes (routes.ts). */
export const keysRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/admin/keys',
    handle: async (deps, { admin, query }) => {
      const invites = /^\d{1,7}$/.test(query.invites ?? '') ? ` with ${query.invites} live invite(s)` : '';
      const notice = query.revoked ? `Key revoked${invites}.` : undefined;
      return { status: 200, html: await keysPage(deps, admin, { notice }) };
    },
  },
  {
    method: 'POST',
    path: '/admin/keys',
    handle: async (deps, { admin, form }) => {
      try {
        const created = await createKeyFromForm(deps, admin, form);
        return { status: 201, html: await keysPage(deps, admin, { created }) };
      } catch (error) {
        if (!isInviteError(error) || error.code === 'internal') throw error;
        return { status: error.code, html: await keysPage(deps, admin, { error: error.message }) };
      }
    },
  },
  {
    method: 'POST',
    path: '/admin/keys/revoke',
    handle: async (deps, { admin, form }) => {
      const { revokedInvites, ownSession } = await revokeKeyFromForm(deps, admin, form);
      if (ownSession) return { status: 200, html: signedOutPage(revokedInvites), cookie: clearedSessionCookie() };
      const withInvites = field(form, 'revokeInvites') === '1' ? `&invites=${revokedInvites}` : '';
      return { status: 303, location: `/admin/keys?revoked=1${withInvites}` };
    },
  },
];
