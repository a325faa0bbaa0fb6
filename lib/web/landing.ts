import { inAppInvites, type Config } from '../config.js';
import { isInviteError, type ErrorCode } from '../errors.js';
import { findLiveInvite, lookupInvite } from '../invites/lookup.js';
import { usesLeft, type Invite } from '../invites/Invite.js';
import { checkPassword } from '../invites/password.js';
import { redeemInvite } from '../invites/redeem.js';
import type { InvitePolicy } from '../invites/policy.js';
import { inviteUri, landingUrl } from '../invites/uris.js';
import { normalizeLocalpart, usernamePolicy } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import type { ProvisionerRegistry } from '../ports/XmppProvisioner.js';
import { qrSvg } from './qr.js';
import { donePage, invitePage, statusPage, type FieldName, type FormState, type StatusKind } from './pages.js';
import { en, type Texts } from './texts.js';

export interface LandingDeps {
  store: InviteStore;
  clock: Clock;
  config: Pick<Config, 'webClients' | 'passwordMinLength' | 'usernameMaxLength' | 'xmpp' | 'baseUrl'> &
    Partial<Pick<Config, 'usernameUnicode'>>;
  texts?: Texts;
}

export interface SubmitDeps extends LandingDeps {
  xmpp: ProvisionerRegistry;
  config: LandingDeps['config'] & Pick<Config, 'protectedJids'>;
  claimKey: () => Promise<string>;
  /** The invitation policy (lib/invites/policy.ts): the registration brake. */
  policy?: InvitePolicy;
}

/** A rendered page and what the HTTP layer needs to answer it. */
export interface WebPage {
  html: string;
  /** Absent on success; otherwise the error code the HTTP layer maps to a status. */
  error?: ErrorCode;
  /** The invite URI, for a `Link: <…>; rel="alternate"` header. */
  alternate?: string;
  /** The invite's domain, when the page shows a live invite (its form): where the funnel counts it. */
  domain?: string;
  /** Safe to log: never the token or the password. */
  log?: { inviteId: string; jid: string; outcome: 'created' | 'reset'; replayed: boolean };
}

export interface LandingForm {
  username?: unknown;
  password?: unknown;
  confirm?: unknown;
}

const STATUS_PAGES: readonly ErrorCode[] = ['token-invalid', 'token-expired', 'token-used', 'token-revoked'];

const renderInvite = async (deps: LandingDeps, invite: Invite, token: string, form?: FormState, error?: ErrorCode): Promise<WebPage> => {
  const texts = deps.texts ?? en;
  const uri = inviteUri(invite, token);
  const inApp = inAppInvites(deps.config, invite.domain);
  return {
    html: invitePage(texts, {
      type: invite.type,
      domain: invite.domain,
      inviter: invite.inviter,
      username: invite.username,
      expiresAt: invite.expiresAt,
      usesLeft: usesLeft(invite),
      uri,
      qrSvg: inApp ? await qrSvg(landingUrl(deps.config.baseUrl, token), texts.qrLabel) : '',
      inApp,
      clients: deps.config.webClients,
      passwordMinLength: deps.config.passwordMinLength,
      usernameMaxLength: deps.config.usernameMaxLength,
      form,
    }),
    domain: invite.domain,
    // An app handed this URI could only fail where the server lacks the module.
    ...(inApp ? { alternate: uri } : {}),
    ...(error ? { error } : {}),
  };
};

/** Pages for tokens that cannot be used, and for anything unexpected. */
export const errorPage = (code: ErrorCode, texts: Texts = en, domain?: string): WebPage => {
  const kind: StatusKind = STATUS_PAGES.includes(code) ? (code as StatusKind) : 'error';
  return { html: statusPage(texts, kind, domain), error: code };
};

/** `GET /i/{token}`: never consumes the invite. */
export const showInvitePage = async (deps: LandingDeps, token: unknown): Promise<WebPage> => {
  try {
    const invite = await findLiveInvite(deps, token);
    return await renderInvite(deps, invite, token as string);
  } catch (e) {
    if (isInviteError(e) && STATUS_PAGES.includes(e.code)) return errorPage(e.code, deps.texts);
    throw e;
  }
};

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Checks the whole form up front so every problem shows at once, next to its field. */
const checkForm = (deps: LandingDeps, invite: Invite, form: LandingForm): Partial<Record<FieldName, { code: ErrorCode; text: string }>> => {
  const t = deps.texts ?? en;
  const { usernameMaxLength: max, passwordMinLength: min } = deps.config;
  const errors: Partial<Record<FieldName, { code: ErrorCode; text: string }>> = {};
  let username = invite.username;
  if (!username) {
    const raw = str(form.username) ?? '';
    if (raw.trim() === '') {
      errors.username = { code: 'username-invalid', text: t.fieldErrors.usernameRequired };
    } else {
      try {
        username = normalizeLocalpart(raw, usernamePolicy(deps.config));
      } catch {
        errors.username = { code: 'username-invalid', text: t.fieldErrors.usernameInvalid(max) };
      }
    }
  }
  const password = str(form.password) ?? '';
  try {
    checkPassword(password, username ?? '', { minLength: min });
  } catch {
    errors.password = { code: 'password-weak', text: t.fieldErrors.passwordWeak(min) };
  }
  if (!errors.password && str(form.confirm) !== password) {
    errors.confirm = { code: 'invalid-request', text: t.fieldErrors.confirmMismatch };
  }
  return errors;
};

/**
 * `POST /i/{token}`: the web registration (or reset) form. No session: the
 * page carries nothing but what the user typed, and a second submit of the
 * same form is a retry of the same redemption (token + username + password),
 * which the redeem use case answers with the same success.
 */
export const submitInviteForm = async (deps: SubmitDeps, token: unknown, form: LandingForm): Promise<WebPage> => {
  const t = deps.texts ?? en;
  const found = await lookupInvite(deps, token).catch((e: unknown) => {
    if (isInviteError(e) && e.code === 'token-invalid') return undefined;
    throw e;
  });
  if (!found) return errorPage('token-invalid', t);
  const { invite, status } = found;
  const wellFormed = token as string;
  if (status === 'expired' || status === 'revoked') return errorPage(`token-${status}`, t);

  const typed = invite.username ? undefined : str(form.username);
  const problems = checkForm(deps, invite, form);
  const fields = Object.keys(problems) as FieldName[];
  if (fields.length > 0) {
    // A used-up invite has no form to correct.
    if (status === 'used') return errorPage('token-used', t);
    const errors = Object.fromEntries(fields.map((f) => [f, problems[f]?.text]));
    return renderInvite(deps, invite, wellFormed, { username: typed, errors }, problems[fields[0] as FieldName]?.code);
  }

  try {
    const result = await redeemInvite(
      { store: deps.store, xmpp: deps.xmpp, clock: deps.clock, config: deps.config, claimKey: deps.claimKey, policy: deps.policy },
      token,
      { username: invite.username ? undefined : typed, password: form.password, via: 'web' },
      // Read above: redeem does not read it again (its claim checks the item).
      invite
    );
    return {
      html: donePage(t, {
        outcome: result.outcome,
        jid: result.jid,
        domain: invite.domain,
        inviter: result.outcome === 'created' && result.warnings.length === 0 ? invite.inviter : undefined,
        clients: deps.config.webClients,
      }),
      log: { inviteId: invite.id, jid: result.jid, outcome: result.outcome, replayed: result.replayed },
    };
  } catch (e) {
    if (!isInviteError(e)) throw e;
    if (STATUS_PAGES.includes(e.code)) return errorPage(e.code, t);
    const again = (errors: FormState['errors'], alert?: string) =>
      renderInvite(deps, invite, wellFormed, { username: typed, errors, ...(alert ? { alert } : {}) }, e.code);
    const jid = `${invite.username ?? normalizeLocalpart(typed ?? '', usernamePolicy(deps.config))}@${invite.domain}`;
    switch (e.code) {
      case 'username-taken':
      // A reserved name (RESERVED_USERNAMES) reads as taken: it is not the user's to have.
      case 'username-reserved':
        return again({ username: t.fieldErrors.usernameTaken(jid) });
      case 'username-invalid':
        return again({ username: t.fieldErrors.usernameInvalid(deps.config.usernameMaxLength) });
      case 'username-mismatch':
        return again({ username: t.fieldErrors.usernameMismatch(invite.username ?? '') });
      case 'password-weak':
        return again({ password: t.fieldErrors.passwordWeak(deps.config.passwordMinLength) });
      case 'redemption-in-progress':
        return again({}, t.alerts.inProgress);
      case 'xmpp-unavailable':
      case 'xmpp-error':
        return again({}, t.alerts.unavailable);
      default:
        throw e;
    }
  }
};
