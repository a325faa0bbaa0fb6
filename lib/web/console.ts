import QRCode from 'qrcode';
import { enforceRateLimits } from '../abuse/rateLimit.js';
import { sourceAddressKey } from '../abuse/address.js';
import { authenticate, authenticateKeyId } from '../apiKeys/apiKeys.js';
import type { Config } from '../config.js';
import { InviteError, isInviteError, type ErrorCode } from '../errors.js';
import type { Actor } from '../invites/actor.js';
import { listInvites, revokeInvite } from '../invites/adminInvites.js';
import { issueInvite, type IssueDeps, type IssueInput } from '../invites/issue.js';
import { InviteStatuses, InviteTypes, type InviteType } from '../invites/Invite.js';
import type { ApiKeyStore } from '../ports/ApiKeyStore.js';
import type { Clock } from '../ports/Clock.js';
import type { RateLimiter } from '../ports/RateLimiter.js';
import { csrfToken, csrfValid, seal, signSession, unseal, verifySession, type ConsoleSession } from './consoleSession.js';
import { CONSOLE_CSS } from './consoleStyles.js';
import { html, trusted, type Html, type Part } from './html.js';
import { sha256 } from '../token.js';

/**
 * The admin console (#21): sign-in with an admin API key, then the invites of
 * the key's domains. Every action goes through the API's use cases
 * (lib/invites/adminInvites.ts, issue.ts) with the key's actor, so the key's
 * domain scope and grants apply exactly as on the API. Pages carry no script.
 */
export interface ConsoleDeps {
  keys: ApiKeyStore;
  clock: Clock;
  limiter: RateLimiter;
  config: Pick<Config, 'domains' | 'defaultDomain' | 'rateLimits' | 'console'>;
  /** The HMAC key of sessions and CSRF tokens. */
  sessionKey: () => Promise<string>;
  /** The issue use case's dependencies, as the API's issue function has them. */
  issue: IssueDeps;
}

/** What a console request answers: a page, or a redirect; maybe a new cookie. */
export interface ConsoleResult {
  status: number;
  html?: string;
  location?: string;
  cookie?: string;
}

export interface SignedIn {
  session: ConsoleSession;
  actor: Actor;
  csrf: string;
  /** Seals an invite id or a cursor for this session's pages; `open` undoes it (undefined when not this session's). */
  seal: (text: string) => string;
  open: (handle: unknown) => string | undefined;
}

const SIGN_IN_ERRORS: Partial<Record<ErrorCode, string>> = {
  unauthorized: 'This key is unknown or revoked.',
  forbidden: 'This key may not use the console: it needs an admin API key (no live-invite quota).',
  'rate-limited': 'Too many sign-in attempts from your address. Wait a minute and try again.',
};

const layout = (title: string, body: Html, nav?: SignedIn): string =>
  '<!doctype html>\n' +
  html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow"><title>${title} · Invites console</title><style>${trusted(CONSOLE_CSS)}</style></head><body><header class="site console-nav"><span>Invites console</span>${
    nav
      ? html`<form method="post" action="/admin/signout" class="inline"><input type="hidden" name="csrf" value="${nav.csrf}"><button class="link" type="submit">Sign out</button></form>`
      : ''
  }</header><main class="wide">${body}</main></body></html>`.value;

export const signInPage = (error?: ErrorCode): string =>
  layout(
    'Sign in',
    html`<section class="card"><h1>Sign in</h1>${
      error ? html`<p class="alert" role="alert" data-error="${error}">${SIGN_IN_ERRORS[error] ?? 'Sign-in failed.'}</p>` : ''
    }<form method="post" action="/admin/session"><label for="key">Admin API key</label><input type="password" id="key" name="key" autocomplete="off" required><p class="hint">A key made with <code>invites-admin keys create</code>. The session lasts 12 hours and ends when the key is revoked.</p><button class="button" type="submit">Sign in</button></form></section>`
  );

/** Exchanges an admin API key for a session cookie value. Every attempt counts against the address's sign-in limit. */
export const signIn = async (deps: ConsoleDeps, form: Record<string, unknown>, sourceIp: unknown): Promise<string> => {
  const limits = deps.config.rateLimits;
  await enforceRateLimits(
    { limiter: deps.limiter, clock: deps.clock },
    [{ key: `console-signin#ip#${sourceAddressKey(sourceIp, limits.ipv6Prefix)}`, limit: deps.config.console?.signInsPerIp ?? 10 }],
    limits.windowSeconds
  );
  const key = typeof form.key === 'string' ? form.key.trim() : '';
  const actor = await authenticate(deps.keys, `Bearer ${key}`);
  if (!actor.admin) throw new InviteError('forbidden', 'the console needs an admin API key');
  return signSession(await deps.sessionKey(), sha256(key), deps.clock.now());
};

/** The signed-in admin of this cookie, its key checked again; undefined when there is none. */
export const currentAdmin = async (deps: ConsoleDeps, cookie: string | undefined): Promise<SignedIn | undefined> => {
  const key = await deps.sessionKey();
  const session = verifySession(key, cookie, deps.clock.now());
  if (!session) return undefined;
  try {
    const actor = await authenticateKeyId(deps.keys, session.keyId);
    if (!actor.admin) return undefined;
    return {
      session,
      actor,
      csrf: csrfToken(key, session),
      seal: (text) => seal(key, session, text),
      open: (handle) => unseal(key, session, handle),
    };
  } catch (error) {
    if (isInviteError(error) && (error.code === 'unauthorized' || error.code === 'forbidden')) return undefined;
    throw error;
  }
};

/** A state-changing form must carry the session's CSRF token: 403 otherwise. */
export const assertCsrf = async (deps: ConsoleDeps, admin: SignedIn, form: Record<string, unknown>): Promise<void> => {
  if (!csrfValid(await deps.sessionKey(), admin.session, form.csrf)) {
    throw new InviteError('forbidden', 'this form is stale or not from the console; reload the page');
  }
};

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

const field = (form: Record<string, unknown>, name: string): string | undefined => {
  const v = form[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
};

const intField = (form: Record<string, unknown>, name: string, what: string): number | undefined => {
  const v = field(form, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,7}$/.test(v)) throw new InviteError('invalid-request', `${what} must be a whole number`);
  return Number(v);
};

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

const qrSvg = async (url: string): Promise<string> => {
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  return svg.trim().replace('<svg ', '<svg class="qr" role="img" aria-label="QR code of the invite link" focusable="false" ');
};

export const createInvite = async (deps: ConsoleDeps, admin: SignedIn, form: Record<string, unknown>): Promise<Issued> => {
  const { view, invite } = await issueInvite(deps.issue, admin.actor, issueInputOf(form));
  return { landingUrl: view.landingUrl, uri: view.uri, qr: await qrSvg(view.landingUrl), type: invite.type, domain: invite.domain };
};

/** Revokes the invite of a sealed handle from this session's list (an unknown handle is an unknown invite). */
export const revoke = async (deps: ConsoleDeps, admin: SignedIn, handle: unknown): Promise<void> => {
  await revokeInvite({ store: deps.issue.store, clock: deps.clock, config: deps.config }, admin.actor, admin.open(handle) ?? '');
};

/** The domains this key may act on, of those this deployment serves. */
const domainsOf = (deps: ConsoleDeps, actor: Actor): string[] =>
  deps.config.domains.filter((d) => actor.domains.includes('*') || actor.domains.includes(d));

const option = (value: string, label: string, selected: string | undefined): Html =>
  html`<option value="${value}"${selected === value ? trusted(' selected') : ''}>${label}</option>`;

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
  return layout('Invites', html`${body}`, admin);
};

/** A console error as a page, for errors outside a form (bad filters, 403 CSRF, 500). */
export const consoleErrorPage = (code: ErrorCode | 'not-found', message: string): string =>
  layout(
    'Error',
    html`<section class="card"><h1>Something went wrong</h1><p class="alert" role="alert" data-error="${code}">${message}</p><p><a href="/admin/invites">Back to the invites</a></p></section>`
  );
