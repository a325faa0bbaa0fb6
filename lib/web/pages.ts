/**
 * The landing pages as pure functions of data: no I/O, no clock, no HTTP.
 * Every value is escaped by `html`; the only trusted markup is our CSS and
 * the QR code's SVG.
 */
import type { InviteType } from '../invites/Invite.js';
import { appLink, Platforms, type ClientApp } from './clients.js';
import { html, trusted, type Html } from './html.js';
import { CSS } from './styles.js';
import type { Texts } from './texts.js';

export type FieldName = 'username' | 'password' | 'confirm';

export interface FormState {
  /** What the user typed (never the password). */
  username?: string;
  errors: Partial<Record<FieldName, string>>;
  /** A problem with the whole form (server unavailable). */
  alert?: string;
}

export interface InvitePageData {
  type: InviteType;
  domain: string;
  inviter?: string;
  /** Preset localpart (and the account of a reset invite). */
  username?: string;
  expiresAt: number;
  usesLeft: number | null;
  uri: string;
  /** `<svg>` markup of the invite URI's QR code. */
  qrSvg: string;
  /**
   * Does the domain's server take this service's invites in apps (its module
   * is installed)? If not, opening the invite in an app is a dead end: no
   * "open in my app", no QR code of the invite, the form instead.
   */
  inApp: boolean;
  clients: readonly ClientApp[];
  passwordMinLength: number;
  usernameMaxLength: number;
  form?: FormState;
}

export interface DonePageData {
  outcome: 'created' | 'reset';
  jid: string;
  domain: string;
  inviter?: string;
  clients: readonly ClientApp[];
}

export type StatusKind = 'token-invalid' | 'token-expired' | 'token-used' | 'token-revoked' | 'error';

const document = (t: Texts, title: string, brand: string | undefined, body: Html): string =>
  '<!doctype html>\n' +
  html`<html lang="${t.lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow"><title>${title} · ${t.titleSuffix}</title><style>${trusted(CSS)}</style></head><body>${brand ? html`<header class="site">${brand}</header>` : ''}<main>${body}</main></body></html>`
    .value;

const formatDate = (t: Texts, epochSeconds: number): string =>
  `${new Intl.DateTimeFormat(t.locale, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(epochSeconds * 1000))} UTC`;

const appList = (t: Texts, clients: readonly ClientApp[], inviteUri: string | undefined, inviteTags = true): Html =>
  html`${Platforms.map((platform) => {
    const apps = clients.filter((c) => c.platform === platform);
    if (apps.length === 0) return '';
    return html`<h3>${t.platforms[platform]}</h3><ul class="apps">${apps.map(
      (app) =>
        html`<li><a href="${appLink(app, inviteUri)}" rel="noopener noreferrer">${app.name}</a>${
          !inviteTags
            ? ''
            : app.invites
              ? html`<span class="tag yes">${t.appOpensInvites}</span>`
              : inviteUri
                ? html`<span class="tag">${t.appNeedsAccount}</span>`
                : ''
        }${app.note ? html`<span class="muted">${app.note}</span>` : ''}</li>`
    )}</ul>`;
  })}`;

const appsCard = (t: Texts, d: InvitePageData): Html =>
  d.inApp
    ? html`<section class="card" aria-labelledby="apps-heading"><h2 id="apps-heading">${t.appsHeading}</h2><p>${t.appsIntro}</p>${appList(t, d.clients, d.uri)}</section>`
    : // Plain store links: an app handed the invite would try to register with a server that cannot check it.
      html`<section class="card" aria-labelledby="apps-heading"><h2 id="apps-heading">${t.appsHeading}</h2><p>${t.formOnly.appsIntro}</p>${appList(t, d.clients, undefined, false)}</section>`;

const qrFigure = (t: Texts, d: InvitePageData): Html => html`<figure>${trusted(d.qrSvg)}<figcaption>${t.qrCaption}</figcaption></figure>`;

const openCard = (t: Texts, d: InvitePageData, heading: string, intro: string, button: Html | string): Html =>
  html`<section class="card" aria-labelledby="open-heading"><h2 id="open-heading">${heading}</h2><p>${intro}</p><p class="actions"><a class="button" id="open-invite" href="${d.uri}">${button}</a></p>${qrFigure(t, d)}</section>`;

const validity = (t: Texts, d: InvitePageData): Html =>
  html`<p class="muted">${t.expiresOn(formatDate(t, d.expiresAt))}${
    d.usesLeft !== null && d.usesLeft > 1 ? html` ${t.usesLeft(d.usesLeft)}` : ''
  }</p>`;

const fieldError = (id: FieldName, message: string | undefined): Html =>
  message ? html`<p class="error" id="${id}-error">${message}</p>` : html``;

const describedBy = (id: FieldName, message: string | undefined, hint: boolean): string =>
  [message ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ');

const invalid = (message: string | undefined): Html => (message ? html` aria-invalid="true"` : html``);

const registrationForm = (t: Texts, d: InvitePageData, submit: string): Html => {
  const form = d.form ?? { errors: {} };
  const e = form.errors;
  // Focus the first field that needs attention: HTML does it, no script needed.
  const first = (['username', 'password', 'confirm'] as const).find((f) => e[f] !== undefined);
  const autofocus = (f: FieldName) => (first === f ? html` autofocus` : html``);
  const reset = d.type === 'reset';
  const askUsername = !d.username;
  return html`<form method="post" accept-charset="utf-8">${
    form.alert ? html`<p class="alert" role="alert" id="form-alert">${form.alert}</p>` : ''
  }${first ? html`<p class="alert" role="alert" id="form-errors">${t.form.errorSummary}</p>` : ''}${
    askUsername
      ? html`<label for="username">${t.form.username}</label><div class="field"><input type="text" id="username" name="username" value="${form.username ?? ''}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required maxlength="${d.usernameMaxLength}" aria-describedby="${describedBy('username', e.username, true)}"${invalid(e.username)}${autofocus('username')}><span class="suffix">@${d.domain}</span></div>${fieldError('username', e.username)}<p class="hint" id="username-hint">${t.form.usernameHint(html`${d.domain}`)}</p>`
      : ''
  }<label for="password">${reset ? t.form.newPassword : t.form.password}</label><input type="password" id="password" name="password" autocomplete="new-password" required minlength="${d.passwordMinLength}" maxlength="1024" aria-describedby="${describedBy('password', e.password, true)}"${invalid(e.password)}${autofocus('password')}>${fieldError('password', e.password)}<p class="hint" id="password-hint">${t.form.passwordHint(d.passwordMinLength)}</p><label for="confirm">${t.form.confirm}</label><input type="password" id="confirm" name="confirm" autocomplete="new-password" required maxlength="1024"${
    e.confirm ? html` aria-describedby="confirm-error"` : ''
  }${invalid(e.confirm)}${autofocus('confirm')}>${fieldError('confirm', e.confirm)}<button class="button" type="submit" id="submit">${submit}</button></form>`;
};

/** The page of a live invite: account, contact or reset. */
export const invitePage = (t: Texts, d: InvitePageData): string => {
  const domain = html`${d.domain}`;
  if (d.type === 'reset') {
    const jid = html`${d.username ?? ''}@${d.domain}`;
    return document(
      t,
      t.reset.title,
      d.domain,
      html`<section class="card" aria-labelledby="title"><h1 id="title">${t.reset.heading}</h1><p>${t.reset.intro(jid)}</p>${validity(t, d)}${registrationForm(t, d, t.reset.submit)}</section>${d.inApp ? openCard(t, d, t.reset.appHeading, t.reset.appIntro, t.openButton) : ''}`
    );
  }
  if (d.type === 'contact' && d.inviter) {
    const inviter = html`${d.inviter}`;
    return document(
      t,
      t.contact.title(d.inviter),
      d.domain,
      html`<section class="card" aria-labelledby="title"><h1 id="title">${t.contact.heading(inviter)}</h1><p>${t.contact.intro(inviter, domain)}</p>${validity(t, d)}</section>${d.inApp ? contactOpenCard(t, d, inviter) : contactAddCard(t, d, inviter)}${appsCard(t, d)}<section class="card" aria-labelledby="register-heading"><h2 id="register-heading">${t.contact.registerHeading}</h2><p>${t.contact.registerIntro(inviter, domain)}</p>${registrationForm(t, d, t.form.submit)}</section>`
    );
  }
  const intro = d.inviter ? t.account.invitedBy(html`${d.inviter}`, domain) : t.account.invited(domain);
  return document(
    t,
    t.account.title(d.domain),
    d.domain,
    html`<section class="card" aria-labelledby="title"><h1 id="title">${t.account.heading(domain)}</h1><p>${intro}</p>${
      d.username ? html`<p>${t.account.presetUsername(html`${d.username}@${d.domain}`)}</p>` : ''
    }${validity(t, d)}</section>${appsCard(t, d)}${
      d.inApp
        ? html`${openCard(t, d, t.openHeading, t.openIntro, t.openButton)}<section class="card" aria-labelledby="register-heading"><h2 id="register-heading">${t.registerHeading}</h2><p>${t.registerIntro(domain)}</p>${registrationForm(t, d, t.form.submit)}</section>`
        : html`<section class="card" aria-labelledby="register-heading"><h2 id="register-heading">${t.formOnly.registerHeading}</h2><p>${t.formOnly.registerIntro(domain)}</p>${registrationForm(t, d, t.form.submit)}</section>`
    }`
  );
};

const contactOpenCard = (t: Texts, d: InvitePageData, inviter: Html): Html =>
  html`<section class="card" aria-labelledby="open-heading"><h2 id="open-heading">${t.contact.haveAccount}</h2><p>${t.contact.haveAccountText(inviter)}</p><p class="actions"><a class="button" id="open-invite" href="${d.uri}">${t.contact.openButton(inviter)}</a></p>${qrFigure(t, d)}</section>`;

/**
 * An existing account can still add the inviter without the server's module:
 * a plain roster URI (no token: nothing on that server would check it), and
 * the inviter approves by hand.
 */
const contactAddCard = (t: Texts, d: InvitePageData, inviter: Html): Html =>
  html`<section class="card" aria-labelledby="open-heading"><h2 id="open-heading">${t.contact.haveAccount}</h2><p>${t.formOnly.haveAccountText(inviter)}</p><p class="actions"><a class="button" id="add-contact" href="xmpp:${d.inviter ?? ''}?roster">${t.contact.openButton(inviter)}</a></p></section>`;

/** After a successful web registration or password reset. */
export const donePage = (t: Texts, d: DonePageData): string => {
  const jid = html`${d.jid}`;
  if (d.outcome === 'reset') {
    return document(
      t,
      t.resetDone.title,
      d.domain,
      html`<section class="card" aria-labelledby="title"><div class="success" id="done"><h1 id="title">${t.resetDone.heading}</h1><p>${t.resetDone.intro(jid)}</p></div><p>${t.resetDone.next}</p></section>`
    );
  }
  return document(
    t,
    t.created.title,
    d.domain,
    html`<section class="card" aria-labelledby="title"><div class="success" id="done"><h1 id="title">${t.created.heading}</h1><p>${t.created.intro(jid)}</p></div><dl class="address"><dt>${t.created.addressLabel}</dt><dd id="jid">${d.jid}</dd></dl><h2>${t.created.nextHeading}</h2><ol class="steps"><li>${t.created.stepApp}</li><li>${t.created.stepSignIn(jid)}</li>${
      d.inviter ? html`<li>${t.created.stepContact(html`${d.inviter}`)}</li>` : ''
    }</ol></section><section class="card" aria-labelledby="apps-heading"><h2 id="apps-heading">${t.created.appsHeading}</h2>${appList(t, d.clients, undefined)}</section>`
  );
};

/** Unknown, expired, used or revoked invites, and unexpected failures. */
export const statusPage = (t: Texts, kind: StatusKind, domain?: string): string => {
  const s = t.status[kind];
  return document(
    t,
    s.title,
    domain,
    html`<section class="card" aria-labelledby="title" id="status" data-status="${kind}"><h1 id="title">${s.title}</h1><p>${s.text}</p></section>`
  );
};
