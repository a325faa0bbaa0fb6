import { inviteSubject } from '../../auditTrail.js';
import { InviteError, isInviteError } from '../../errors.js';
import { keySource } from '../../apiKeys/apiKeys.js';
import { listInvites, revokeInvite, showInvite } from '../../invites/adminInvites.js';
import { issueInvite, type IssueInput } from '../../invites/issue.js';
import { InviteStatuses, InviteTypes, type InviteType } from '../../invites/Invite.js';
import { html, trusted, type Html, type Part } from '../html.js';
import { qrSvg } from '../qr.js';
import { audited, domainsOf, field, intField, layout, option, type ConsoleDeps, type ConsoleRoute, type SignedIn } from './core.js';
import type { ApiKey } from '../../ports/ApiKeyStore.js';

/** The console's invites page (#21): list and filter, create (link and QR code, copy button), revoke; one invite with its redemptions. */

export interface InvitesQuery {
  domain?: string;
  status?: string;
  type?: string;
  /** A bare JID. */
  inviter?: string;
  /** `cli`, `webhook:<name>`, or an API key's source sealed for this session (its id stays out of the page). */
  source?: string;
  cursor?: string;
}

/** The filters of a query string: blank ones are no filter. */
export const invitesQueryOf = (query: Record<string, string | undefined>): InvitesQuery => {
  const get = (name: string) => (query[name]?.trim() ? query[name]?.trim() : undefined);
  return {
    domain: get('domain'),
    status: get('status'),
    type: get('type'),
    inviter: get('inviter'),
    source: get('source'),
    cursor: get('cursor'),
  };
};

/** The invite sources an operator can pick, by name: the API keys (sealed), the CLI, the signup webhooks. */
interface Sources {
  keys: ApiKey[];
  signup: string[];
}

/** The keys (a Query of the few there are) whose domains meet this admin's: others' names stay out of the page. */
const sourcesOf = async (deps: ConsoleDeps, admin: SignedIn): Promise<Sources> => ({
  keys: (await deps.keys.list())
    .filter((k) => admin.actor.domains.includes('*') || k.domains.some((d) => d === '*' || admin.actor.domains.includes(d)))
    .sort((a, b) => a.name.localeCompare(b.name)),
  signup: Object.keys(deps.config.signupSources ?? {}).sort(),
});

/** A source filter's value -> the invites' source; 400 for anything not offered. */
const sourceFilter = (admin: SignedIn, sources: Sources, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  if (value === 'cli' || (value.startsWith('webhook:') && sources.signup.includes(value.slice('webhook:'.length)))) return value;
  const opened = admin.open(value);
  if (opened && /^(api-key|xmpp-server):[A-Za-z0-9_-]+$/.test(opened)) return opened;
  throw new InviteError('invalid-request', 'source must be one of the sources the filter lists');
};

/** Who issued an invite, in words: a key's name, never its id. */
const sourceLabel = (source: string, sources: Sources): string => {
  if (source === 'cli') return 'the command line (invites-admin)';
  if (source.startsWith('webhook:')) return `signup webhook ${source.slice('webhook:'.length)}`;
  const [kind, , ...user] = source.split(':');
  const key = sources.keys.find((k) => source === keySource(k) || source.startsWith(`${keySource(k)}:`));
  const name = key ? `${kind === 'xmpp-server' ? 'server key' : 'API key'} “${key.name}”` : `an API key no longer listed`;
  return user.length > 0 ? `${name}, from the app of ${user.join(':')}` : name;
};

interface Issued {
  landingUrl: string;
  uri: string;
  qr: string;
  type: string;
  domain: string;
}

/** The create form -> the issue use case's input (the same validation as the API then applies). */
export const issueInputOf = (form: Record<string, unknown>): IssueInput => {
  const type = field(form, 'type') ?? 'account';
  if (!InviteTypes.includes(type as InviteType)) throw new InviteError('invalid-request', `type must be one of ${InviteTypes.join(', ')}`);
  const days = intField(form, 'expiresInDays', 'expiry (days)');
  if (days === 0) throw new InviteError('invalid-request', 'expiry (days) must be at least 1');
  return {
    type: type as InviteType,
    domain: field(form, 'domain'),
    inviter: field(form, 'inviter'),
    username: field(form, 'username'),
    maxUses: intField(form, 'maxUses', 'uses'),
    ttlSeconds: days === undefined ? undefined : days * 86400,
    note: field(form, 'note'),
    groups: groupsOf(form),
  };
};

/** The groups field: one roster group a line, blank lines left out (the issue use case checks each: at most 20, 1-100 characters, no ';'). */
const groupsOf = (form: Record<string, unknown>): string[] | undefined => {
  const text = field(form, 'groups');
  if (text === undefined) return undefined;
  return text
    .split(/\r?\n/)
    .map((g) => g.trim())
    .filter((g) => g !== '');
};

export const createInvite = async (deps: ConsoleDeps, admin: SignedIn, form: Record<string, unknown>): Promise<Issued> => {
  const { view, invite } = await issueInvite(deps.issue, admin.actor, issueInputOf(form));
  await audited(deps, admin, {
    action: 'invite.created',
    domain: invite.domain,
    subject: inviteSubject(invite),
    detail: { maxUses: invite.maxUses ?? 0 },
  });
  return {
    landingUrl: view.landingUrl,
    uri: view.uri,
    qr: await qrSvg(view.landingUrl, 'QR code of the invite link'),
    type: invite.type,
    domain: invite.domain,
  };
};

/** Revokes the invite of a sealed handle from this session's list (an unknown handle is an unknown invite). */
export const revoke = async (deps: ConsoleDeps, admin: SignedIn, handle: unknown): Promise<void> => {
  const invite = await revokeInvite(
    { store: deps.issue.store, clock: deps.clock, config: deps.config },
    admin.actor,
    admin.open(handle) ?? ''
  );
  await audited(deps, admin, { action: 'invite.revoked', domain: invite.domain, subject: inviteSubject(invite) });
};

const issuedCard = (issued: Issued): Html =>
  html`<section class="card success-card" id="issued" aria-labelledby="issued-title"><h2 id="issued-title">New ${issued.type} invite for ${issued.domain}</h2><p>Hand over this link or let them scan the code. It is shown only now: the service keeps no copy of it.</p><label for="issued-link">Invite link</label><div class="copy-row"><input type="text" id="issued-link" readonly value="${issued.landingUrl}"><button type="button" class="button small" id="copy-link" data-copy="issued-link" hidden>Copy link</button></div><p class="hint">Select the link to copy it, or use the button.</p><figure>${trusted(issued.qr)}<figcaption>Scan to open the invite</figcaption></figure></section>`;

/** The create form; after a refusal, with the error and what was entered (the groups field marked when it was the groups). */
const createForm = (admin: SignedIn, domains: string[], error?: string, entered: Record<string, unknown> = {}): Html => {
  const value = (name: string) => (typeof entered[name] === 'string' ? (entered[name] as string) : '');
  const badGroups = error?.startsWith('groups') === true;
  return html`<section class="card" aria-labelledby="create-title"><h2 id="create-title">Create an invite</h2>${
    error ? html`<p class="alert" role="alert" id="create-error" data-error="create">${error}</p>` : ''
  }<form method="post" action="/admin/invites" class="grid"><input type="hidden" name="csrf" value="${admin.csrf}"><div><label for="type">Type</label><select id="type" name="type">${InviteTypes.map(
    (t) => option(t, t, value('type') || 'account')
  )}</select></div><div><label for="domain">Domain</label><select id="domain" name="domain">${domains.map((d) =>
    option(d, d, value('domain') || undefined)
  )}</select></div><div><label for="inviter">Inviter (optional)</label><input type="text" id="inviter" name="inviter" placeholder="alice@example.org" value="${value('inviter')}"></div><div><label for="username">Username (optional)</label><input type="text" id="username" name="username" value="${value('username')}"></div><div><label for="maxUses">Uses</label><input type="text" inputmode="numeric" id="maxUses" name="maxUses" placeholder="1" value="${value('maxUses')}"></div><div><label for="expiresInDays">Expires in (days)</label><input type="text" inputmode="numeric" id="expiresInDays" name="expiresInDays" placeholder="7" value="${value('expiresInDays')}"></div><div class="full"><label for="groups">Roster groups (optional, one a line)</label><textarea id="groups" name="groups" rows="2" placeholder="Friends" aria-describedby="groups-hint${badGroups ? ' create-error' : ''}"${
    badGroups ? trusted(' aria-invalid="true"') : ''
  }>${value('groups')}</textarea><p class="hint" id="groups-hint">The new account's contact with the inviter is put in these groups: at most 20, each 1-100 characters, without ';'.</p></div><div class="full"><label for="note">Note (optional)</label><input type="text" id="note" name="note" maxlength="100" value="${value('note')}"></div><div class="full"><button class="button" type="submit">Create invite</button></div></form></section>`;
};

const row = (admin: SignedIn, i: Awaited<ReturnType<typeof listInvites>>['items'][number]): Html =>
  html`<tr data-status="${i.status}"><td>${i.type}</td><td class="jid">${i.inviter ?? '—'}</td><td class="jid">${i.username ?? '—'}</td><td><span class="tag status-${i.status}">${i.status}</span></td><td>${i.completed}/${i.maxUses ?? '∞'}</td><td>${i.expiresAt.slice(0, 10)}</td><td>${i.note ?? ''}</td><td><span class="actions"><a href="/admin/invites/show?${new URLSearchParams({ invite: admin.seal(i.id) }).toString()}">Details</a>${
    i.status === 'valid' ? revokeForm(admin, i.id, 'list') : ''
  }</span></td></tr>`;

/** The revoke button of one invite; `back`: where the 303 goes (the list, or this invite's page). */
const revokeForm = (admin: SignedIn, id: string, back: 'list' | 'show'): Html =>
  html`<form method="post" action="/admin/invites/revoke" class="inline"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="invite" value="${admin.seal(id)}">${
    back === 'show' ? html`<input type="hidden" name="back" value="show">` : ''
  }<button class="link danger" type="submit">Revoke</button></form>`;

/** The invites page: filters, the list (one page), the create form, maybe a just-issued invite. */
export const invitesPage = async (
  deps: ConsoleDeps,
  admin: SignedIn,
  query: InvitesQuery,
  extra: { issued?: Issued; error?: string; notice?: string; entered?: Record<string, unknown> } = {}
): Promise<string> => {
  const domains = domainsOf(deps, admin.actor);
  const domain = query.domain ?? domains[0];
  const sources = await sourcesOf(deps, admin);
  const source = sourceFilter(admin, sources, query.source);
  const page = await listInvites({ store: deps.issue.store, clock: deps.clock, config: deps.config }, admin.actor, {
    domain,
    status: query.status,
    type: query.type,
    inviter: query.inviter,
    source,
    cursor: query.cursor === undefined ? undefined : (admin.open(query.cursor) ?? '!'),
    limit: 25,
  });
  // Every filter as given stays in the next page's link (the cursor belongs to that list).
  const filters = Object.entries({ domain, status: query.status, type: query.type, inviter: query.inviter, source: query.source }).filter(
    (e): e is [string, string] => e[1] !== undefined
  );
  const next = page.cursor ? `/admin/invites?${new URLSearchParams([...filters, ['cursor', admin.seal(page.cursor)]])}` : undefined;
  const body: Part[] = [
    extra.notice ? html`<p class="success" role="status">${extra.notice}</p>` : '',
    extra.issued ? issuedCard(extra.issued) : '',
    html`<section class="card" aria-labelledby="list-title"><h1 id="list-title">Invites</h1><form method="get" action="/admin/invites" class="filters"><label for="f-domain">Domain</label><select id="f-domain" name="domain">${domains.map(
      (d) => option(d, d, domain)
    )}</select><label for="f-status">Status</label><select id="f-status" name="status">${option('', 'any', query.status ?? '')}${InviteStatuses.map(
      (s) => option(s, s, query.status)
    )}</select><label for="f-type">Type</label><select id="f-type" name="type">${option('', 'any', query.type ?? '')}${InviteTypes.map(
      (t) => option(t, t, query.type)
    )}</select><label for="f-source">Source</label><select id="f-source" name="source">${option('', 'any', source ?? '')}${sources.keys.map(
      (k) =>
        html`<option value="${admin.seal(keySource(k))}"${source === keySource(k) ? trusted(' selected') : ''}>${k.name}${k.kind === 'xmpp-server' ? ' (server key: its apps)' : ''}${k.revokedAt ? ' (revoked)' : ''}</option>`
    )}${option('cli', 'command line', source)}${sources.signup.map((n) => option(`webhook:${n}`, `signup webhook ${n}`, source))}</select><label for="f-inviter">Inviter</label><input type="text" id="f-inviter" name="inviter" placeholder="alice@example.org" value="${query.inviter ?? ''}"><button class="button small" type="submit">Filter</button></form>${
      page.items.length === 0
        ? html`<p class="muted">No invites match.</p>`
        : html`<div class="scroll"><table><thead><tr><th>Type</th><th>Inviter</th><th>Username</th><th>Status</th><th>Used</th><th>Expires</th><th>Note</th><th></th></tr></thead><tbody>${page.items.map(
            (i) => row(admin, i)
          )}</tbody></table></div>`
    }${next ? html`<p><a href="${next}">Next page</a></p>` : ''}</section>`,
    createForm(admin, domains, extra.error, extra.entered),
  ];
  return layout('Invites', html`${body}`, admin, '/admin/invites');
};

const when = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '—');

/**
 * One invite (the sealed handle of a list row) with its redemptions, as the
 * API's show use case reads it: 404 for a handle not of this session, 403 for
 * an invite out of the key's domains. Neither the id nor the token is in the page.
 */
export const invitePage = async (deps: ConsoleDeps, admin: SignedIn, handle: unknown, notice?: string): Promise<string> => {
  const id = admin.open(handle) ?? '';
  const i = await showInvite({ store: deps.issue.store, clock: deps.clock, config: deps.config }, admin.actor, id);
  const sources = await sourcesOf(deps, admin);
  const fact = (label: string, value: Part) => html`<dt>${label}</dt><dd>${value}</dd>`;
  const redemptions = i.redemptions ?? [];
  const body = html`${notice ? html`<p class="success" role="status">${notice}</p>` : ''}<section class="card" aria-labelledby="invite-title"><h1 id="invite-title">${i.type} invite for ${i.domain}</h1><dl class="facts">${[
    fact('Status', html`<span class="tag status-${i.status}" data-status="${i.status}">${i.status}</span>`),
    fact('Type', i.type),
    fact('Domain', i.domain),
    fact('Used', html`<span data-uses>${i.completed}/${i.maxUses ?? '∞'}</span>${i.pending > 0 ? ` (${i.pending} in progress)` : ''}`),
    fact('Created', when(i.createdAt)),
    fact('Expires', when(i.expiresAt)),
    ...(i.revokedAt ? [fact('Revoked', when(i.revokedAt))] : []),
    fact('Inviter', i.inviter ? html`<span class="jid">${i.inviter}</span>` : '—'),
    fact('Preset username', i.username ?? '—'),
    fact('Roster groups', i.groups.length > 0 ? i.groups.join(', ') : '—'),
    fact('Note', i.note ?? '—'),
    fact('Source', sourceLabel(i.source, sources)),
  ]}</dl><div class="actions">${i.status === 'valid' ? revokeForm(admin, id, 'show') : ''}<a href="/admin/invites?${new URLSearchParams({ domain: i.domain }).toString()}">Back to the invites</a></div></section><section class="card" aria-labelledby="redemptions-title"><h2 id="redemptions-title">Redemptions</h2>${
    redemptions.length === 0
      ? html`<p class="muted">Not redeemed yet.</p>`
      : html`<div class="scroll"><table id="redemptions"><thead><tr><th>Account</th><th>Kind</th><th>When</th></tr></thead><tbody>${redemptions.map(
          (r) =>
            html`<tr><td class="jid"><a href="/admin/lineage?${new URLSearchParams({ jid: r.jid }).toString()}">${r.jid}</a></td><td>${r.kind}</td><td>${when(r.at)}</td></tr>`
        )}</tbody></table></div>`
  }</section>`;
  return layout('Invite', body, admin, '/admin/invites');
};

/** The invites page's routes (routes.ts). */
export const invitesRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/admin/invites',
    handle: async (deps, { admin, query }) => ({
      status: 200,
      html: await invitesPage(deps, admin, invitesQueryOf(query), query.revoked ? { notice: 'Invite revoked.' } : {}),
    }),
  },
  {
    method: 'GET',
    path: '/admin/invites/show',
    handle: async (deps, { admin, query }) => ({
      status: 200,
      html: await invitePage(deps, admin, query.invite, query.revoked ? 'Invite revoked.' : undefined),
    }),
  },
  {
    method: 'POST',
    path: '/admin/invites',
    handle: async (deps, { admin, form }) => {
      try {
        const issued = await createInvite(deps, admin, form);
        return { status: 201, html: await invitesPage(deps, admin, { domain: issued.domain }, { issued }) };
      } catch (error) {
        if (!isInviteError(error) || error.code === 'internal') throw error;
        return { status: error.code, html: await invitesPage(deps, admin, {}, { error: error.message, entered: form }) };
      }
    },
  },
  {
    method: 'POST',
    path: '/admin/invites/revoke',
    handle: async (deps, { admin, form }) => {
      await revoke(deps, admin, form.invite);
      // From the invite's own page, back to it (sealed anew); from the list, to the list.
      const id = admin.open(form.invite);
      return form.back === 'show' && id
        ? { status: 303, location: `/admin/invites/show?${new URLSearchParams({ invite: admin.seal(id), revoked: '1' })}` }
        : { status: 303, location: '/admin/invites?revoked=1' };
    },
  },
];
