import { inviteSubject } from '../../auditTrail.js';
import { InviteError, isInviteError } from '../../errors.js';
import { listInvites, revokeInvite } from '../../invites/adminInvites.js';
import { issueInvite, type IssueInput } from '../../invites/issue.js';
import { InviteStatuses, InviteTypes, type InviteType } from '../../invites/Invite.js';
import { html, trusted, type Html, type Part } from '../html.js';
import { qrSvg } from '../qr.js';
import { audited, domainsOf, field, intField, layout, option, type ConsoleDeps, type ConsoleRoute, type SignedIn } from './core.js';

/** The console's invites page (#21): list and filter, create (link and QR code), revoke. */

export interface InvitesQuery {
  domain?: string;
  status?: string;
  cursor?: string;
}

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
  };
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
  html`<section class="card success-card" id="issued" aria-labelledby="issued-title"><h2 id="issued-title">New ${issued.type} invite for ${issued.domain}</h2><p>Hand over this link or let them scan the code. It is shown only now: the service keeps no copy of it.</p><label for="issued-link">Invite link</label><input type="text" id="issued-link" readonly value="${issued.landingUrl}"><p class="hint">Select the link to copy it.</p><figure>${trusted(issued.qr)}<figcaption>Scan to open the invite</figcaption></figure></section>`;

const createForm = (admin: SignedIn, domains: string[], error?: string): Html =>
  html`<section class="card" aria-labelledby="create-title"><h2 id="create-title">Create an invite</h2>${
    error ? html`<p class="alert" role="alert" data-error="create">${error}</p>` : ''
  }<form method="post" action="/admin/invites" class="grid"><input type="hidden" name="csrf" value="${admin.csrf}"><div><label for="type">Type</label><select id="type" name="type">${InviteTypes.map(
    (t) => option(t, t, 'account')
  )}</select></div><div><label for="domain">Domain</label><select id="domain" name="domain">${domains.map((d) =>
    option(d, d, undefined)
  )}</select></div><div><label for="inviter">Inviter (optional)</label><input type="text" id="inviter" name="inviter" placeholder="alice@example.org"></div><div><label for="username">Username (optional)</label><input type="text" id="username" name="username"></div><div><label for="maxUses">Uses</label><input type="text" inputmode="numeric" id="maxUses" name="maxUses" placeholder="1"></div><div><label for="expiresInDays">Expires in (days)</label><input type="text" inputmode="numeric" id="expiresInDays" name="expiresInDays" placeholder="7"></div><div class="full"><label for="note">Note (optional)</label><input type="text" id="note" name="note" maxlength="100"></div><div class="full"><button class="button" type="submit">Create invite</button></div></form></section>`;

const row = (admin: SignedIn, i: Awaited<ReturnType<typeof listInvites>>['items'][number]): Html =>
  html`<tr data-status="${i.status}"><td>${i.type}</td><td class="jid">${i.inviter ?? '—'}</td><td class="jid">${i.username ?? '—'}</td><td><span class="tag status-${i.status}">${i.status}</span></td><td>${i.completed}/${i.maxUses ?? '∞'}</td><td>${i.expiresAt.slice(0, 10)}</td><td>${i.note ?? ''}</td><td>${
    i.status === 'valid'
      ? html`<form method="post" action="/admin/invites/revoke" class="inline"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="invite" value="${admin.seal(i.id)}"><button class="link danger" type="submit">Revoke</button></form>`
      : ''
  }</td></tr>`;

/** The invites page: filters, the list (one page), the create form, maybe a just-issued invite. */
export const invitesPage = async (
  deps: ConsoleDeps,
  admin: SignedIn,
  query: InvitesQuery,
  extra: { issued?: Issued; error?: string; notice?: string } = {}
): Promise<string> => {
  const domains = domainsOf(deps, admin.actor);
  const domain = query.domain ?? domains[0];
  const page = await listInvites({ store: deps.issue.store, clock: deps.clock, config: deps.config }, admin.actor, {
    domain,
    status: query.status,
    cursor: query.cursor === undefined ? undefined : (admin.open(query.cursor) ?? '!'),
    limit: 25,
  });
  const next = page.cursor
    ? `/admin/invites?${new URLSearchParams({ ...(domain ? { domain } : {}), ...(query.status ? { status: query.status } : {}), cursor: admin.seal(page.cursor) })}`
    : undefined;
  const body: Part[] = [
    extra.notice ? html`<p class="success" role="status">${extra.notice}</p>` : '',
    extra.issued ? issuedCard(extra.issued) : '',
    html`<section class="card" aria-labelledby="list-title"><h1 id="list-title">Invites</h1><form method="get" action="/admin/invites" class="filters"><label for="f-domain">Domain</label><select id="f-domain" name="domain">${domains.map(
      (d) => option(d, d, domain)
    )}</select><label for="f-status">Status</label><select id="f-status" name="status">${option('', 'any', query.status ?? '')}${InviteStatuses.map(
      (s) => option(s, s, query.status)
    )}</select><button class="button small" type="submit">Filter</button></form>${
      page.items.length === 0
        ? html`<p class="muted">No invites match.</p>`
        : html`<div class="scroll"><table><thead><tr><th>Type</th><th>Inviter</th><th>Username</th><th>Status</th><th>Used</th><th>Expires</th><th>Note</th><th></th></tr></thead><tbody>${page.items.map(
            (i) => row(admin, i)
          )}</tbody></table></div>`
    }${next ? html`<p><a href="${next}">Next page</a></p>` : ''}</section>`,
    createForm(admin, domains, extra.error),
  ];
  return layout('Invites', html`${body}`, admin, '/admin/invites');
};

/** The invites page's routes (routes.ts). */
export const invitesRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/admin/invites',
    handle: async (deps, { admin, query }) => ({
      status: 200,
      html: await invitesPage(
        deps,
        admin,
        { domain: query.domain, status: query.status || undefined, cursor: query.cursor },
        query.revoked ? { notice: 'Invite revoked.' } : {}
      ),
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
        return { status: error.code, html: await invitesPage(deps, admin, {}, { error: error.message }) };
      }
    },
  },
  {
    method: 'POST',
    path: '/admin/invites/revoke',
    handle: async (deps, { admin, form }) => {
      await revoke(deps, admin, form.invite);
      return { status: 303, location: '/admin/invites?revoked=1' };
    },
  },
];
