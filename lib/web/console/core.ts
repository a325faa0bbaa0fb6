import { enforceRateLimits } from '../../abuse/rateLimit.js';
import { sourceAddressKey } from '../../abuse/address.js';
import { authenticate, authenticateKeyId } from '../../apiKeys/apiKeys.js';
import { recordAction } from '../../auditTrail.js';
import type { Config } from '../../config.js';
import { InviteError, isInviteError, type ErrorCode } from '../../errors.js';
import type { Actor } from '../../invites/actor.js';
import type { IssueDeps } from '../../invites/issue.js';
import type { ContainmentDeps } from '../../lineage/containment.js';
import type { AdminAudit, AuditEntry } from '../../ports/AdminAudit.js';
import type { ApiKeyStore } from '../../ports/ApiKeyStore.js';
import type { Clock } from '../../ports/Clock.js';
import type { FunnelCounters } from '../../ports/FunnelCounters.js';
import type { RateLimiter } from '../../ports/RateLimiter.js';
import { sha256 } from '../../token.js';
import { html, trusted, type Html } from '../html.js';
import { csrfToken, csrfValid, seal, signSession, unseal, verifySession, type ConsoleSession } from './session.js';
import { CONSOLE_CSS } from './styles.js';
import { CONSOLE_JS_HASH, CONSOLE_JS_PATH } from './script.js';

/**
 * The admin console (#21): what every page shares. Sign-in with an admin API
 * key, the session, CSRF, the layout, and the audit trail. Each page lives in
 * its own module (invites.ts, lineage.ts, keys.ts, ...) and lists its routes
 * in routes.ts. Every action goes through the API's use cases with the key's
 * actor, so the key's domain scope and grants apply exactly as on the API,
 * and is written to the audit trail (`audited`). Pages carry no inline script;
 * signed-in pages load the one hashed console script (script.ts), which only enhances.
 */

export interface ConsoleDeps {
  keys: ApiKeyStore;
  clock: Clock;
  limiter: RateLimiter;
  config: Pick<Config, 'domains' | 'defaultDomain' | 'rateLimits' | 'console'> & Partial<Pick<Config, 'signupSources'>>;
  /** The HMAC key of sessions and CSRF tokens. */
  sessionKey: () => Promise<string>;
  /** The issue use case's dependencies, as the API's issue function has them. */
  issue: IssueDeps;
  /** Lineage reads and containment (lib/lineage), as the API's lineage functions have them. */
  containment: ContainmentDeps;
  /** Where each console action is recorded with the acting key. */
  audit: AdminAudit;
  /** Where a failure that does not fail the request is reported (an audit write). */
  warn?: (message: string, details: Record<string, unknown>) => void;
  /** The onboarding funnel's counters (lib/ports/FunnelCounters.ts), read by /admin/funnel. */
  funnel?: Pick<FunnelCounters, 'read'>;
}

/**
 * What a console request answers: a page, or a redirect; maybe a new cookie.
 * A refused form answers its page with the error's code as status, which
 * the handler makes HTTP (functions/http/route.ts STATUS): lib/ knows no HTTP statuses beyond 200/201/303.
 */
export interface ConsoleResult {
  status: number | ErrorCode;
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

/** The console's sections, in the header of every signed-in page. */
export const CONSOLE_SECTIONS: readonly { path: string; label: string }[] = [
  { path: '/admin/invites', label: 'Invites' },
  { path: '/admin/lineage', label: 'Lineage' },
  { path: '/admin/keys', label: 'Keys' },
  { path: '/admin/funnel', label: 'Onboarding' },
  { path: '/admin/activity', label: 'Activity' },
];

/** A whole page: the hashed stylesheet, the header (sections and sign-out when signed in), the body. */
export const layout = (title: string, body: Html, nav?: SignedIn, current?: string): string =>
  '<!doctype html>\n' +
  html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow"><title>${title} · Invites console</title><style>${trusted(CONSOLE_CSS)}</style>${
    nav ? html`<script src="${CONSOLE_JS_PATH}" integrity="${CONSOLE_JS_HASH}" defer></script>` : ''
  }</head><body><header class="site console-nav"><span>Invites console</span>${
    nav
      ? html`<nav aria-label="Console">${CONSOLE_SECTIONS.map((s) =>
          s.path === current ? html`<a href="${s.path}" aria-current="page">${s.label}</a>` : html`<a href="${s.path}">${s.label}</a>`
        )}</nav><form method="post" action="/admin/signout" class="inline"><input type="hidden" name="csrf" value="${nav.csrf}"><button class="link" type="submit">Sign out</button></form>`
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

/** A form field's trimmed text; undefined when absent or blank. */
export const field = (form: Record<string, unknown>, name: string): string | undefined => {
  const v = form[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
};

/** A form field that must be a whole number (400 otherwise); undefined when absent. */
export const intField = (form: Record<string, unknown>, name: string, what: string): number | undefined => {
  const v = field(form, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,7}$/.test(v)) throw new InviteError('invalid-request', `${what} must be a whole number`);
  return Number(v);
};

/** The domains this key may act on, of those this deployment serves. */
export const domainsOf = (deps: ConsoleDeps, actor: Actor): string[] =>
  deps.config.domains.filter((d) => actor.domains.includes('*') || actor.domains.includes(d));

/** An <option>, selected when it is the current value. */
export const option = (value: string, label: string, selected: string | undefined): Html =>
  html`<option value="${value}"${selected === value ? trusted(' selected') : ''}>${label}</option>`;

/** A console error as a page, for errors outside a form (bad filters, 403 CSRF, 500). */
export const consoleErrorPage = (code: ErrorCode | 'not-found', message: string): string =>
  layout(
    'Error',
    html`<section class="card"><h1>Something went wrong</h1><p class="alert" role="alert" data-error="${code}">${message}</p><p><a href="/admin/invites">Back to the invites</a></p></section>`
  );

/** A signed-in console request: its path (no trailing slash), query, and (POST, CSRF checked) form. */
export interface ConsoleRequest {
  method: 'GET' | 'POST';
  path: string;
  query: Record<string, string | undefined>;
  form: Record<string, unknown>;
  admin: SignedIn;
}

/** One route of a console page; routes.ts lists them all. A POST route runs only after the CSRF check. */
export interface ConsoleRoute {
  method: 'GET' | 'POST';
  path: string;
  handle: (deps: ConsoleDeps, request: ConsoleRequest) => Promise<ConsoleResult>;
}

/** Writes one console action to the audit trail, with the acting key (its source and name). */
export const audited = (
  deps: Pick<ConsoleDeps, 'audit' | 'clock' | 'warn'>,
  admin: SignedIn,
  entry: Pick<AuditEntry, 'action' | 'domain' | 'subject' | 'detail'>
): Promise<void> => recordAction(deps, admin.actor, 'console', entry);
