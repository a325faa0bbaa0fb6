import { html, type Html } from './html.js';
import type { Platform } from './clients.js';

/**
 * Every word the landing pages show, in one place so they can be translated:
 * copy `en`, translate the strings, keep the shape (TypeScript checks it).
 * Functions receive values already escaped as Html where they may be styled.
 */
export interface Texts {
  lang: string;
  /** BCP 47 locale used to format dates. */
  locale: string;
  titleSuffix: string;
  expiresOn: (when: string) => string;
  usesLeft: (n: number) => string;
  platforms: Record<Platform, string>;

  account: {
    title: (domain: string) => string;
    heading: (domain: Html) => Html;
    invitedBy: (inviter: Html, domain: Html) => Html;
    invited: (domain: Html) => Html;
    presetUsername: (jid: Html) => Html;
  };
  contact: {
    title: (inviter: string) => string;
    heading: (inviter: Html) => Html;
    intro: (inviter: Html, domain: Html) => Html;
    haveAccount: string;
    haveAccountText: (inviter: Html) => Html;
    openButton: (inviter: Html) => Html;
    registerHeading: string;
    registerIntro: (inviter: Html, domain: Html) => Html;
  };
  reset: { title: string; heading: string; intro: (jid: Html) => Html; appHeading: string; appIntro: string; submit: string };

  appsHeading: string;
  appsIntro: string;
  appOpensInvites: string;
  appNeedsAccount: string;
  openHeading: string;
  openIntro: string;
  openButton: string;
  qrLabel: string;
  qrCaption: string;
  registerHeading: string;
  registerIntro: (domain: Html) => Html;
  /** Where the domain's server cannot take invites in apps (no server module): the form first. */
  formOnly: { appsIntro: string; registerHeading: string; registerIntro: (domain: Html) => Html; haveAccountText: (inviter: Html) => Html };

  form: {
    username: string;
    usernameHint: (domain: Html) => Html;
    password: string;
    newPassword: string;
    passwordHint: (min: number) => string;
    confirm: string;
    submit: string;
    errorSummary: string;
  };
  fieldErrors: {
    usernameInvalid: (max: number) => string;
    usernameTaken: (jid: string) => string;
    usernameMismatch: (username: string) => string;
    usernameRequired: string;
    passwordWeak: (min: number) => string;
    confirmMismatch: string;
  };
  alerts: {
    unavailable: string;
    inProgress: string;
  };

  created: {
    title: string;
    heading: string;
    intro: (jid: Html) => Html;
    addressLabel: string;
    nextHeading: string;
    stepApp: string;
    stepSignIn: (jid: Html) => Html;
    stepContact: (inviter: Html) => Html;
    appsHeading: string;
  };
  resetDone: { title: string; heading: string; intro: (jid: Html) => Html; next: string };

  status: Record<'token-invalid' | 'token-expired' | 'token-used' | 'token-revoked' | 'error', { title: string; text: string }>;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export const en: Texts = {
  lang: 'en',
  locale: 'en-GB',
  titleSuffix: 'XMPP invite',
  expiresOn: (when) => `This invite is valid until ${when}.`,
  usesLeft: (n) => `It can be used ${plural(n, 'more time', 'more times')}.`,
  platforms: { android: 'Android', ios: 'iPhone and iPad', desktop: 'Desktop', web: 'Web' },

  account: {
    title: (domain) => `Join ${domain}`,
    heading: (domain) => html`You are invited to ${domain}`,
    invitedBy: (inviter, domain) =>
      html`<strong>${inviter}</strong> invited you to chat on <strong>${domain}</strong>, a Jabber/XMPP service. Your new address will work with any XMPP app.`,
    invited: (domain) =>
      html`You have been invited to chat on <strong>${domain}</strong>, a Jabber/XMPP service. Your new address will work with any XMPP app.`,
    presetUsername: (jid) => html`This invite is for the address <strong>${jid}</strong>.`,
  },
  contact: {
    title: (inviter) => `Chat with ${inviter}`,
    heading: (inviter) => html`${inviter} wants to chat with you`,
    intro: (inviter, domain) =>
      html`<strong>${inviter}</strong> invited you to add them as a contact. They use <strong>${domain}</strong>, a Jabber/XMPP service.`,
    haveAccount: 'Already on XMPP?',
    haveAccountText: (inviter) =>
      html`Open the invite in your app to add <strong>${inviter}</strong> as a contact, or add that address by hand.`,
    openButton: (inviter) => html`Add ${inviter} in my app`,
    registerHeading: 'New to XMPP? Create an account',
    registerIntro: (inviter, domain) =>
      html`Create an account on <strong>${domain}</strong>; <strong>${inviter}</strong> will already be in your contacts.`,
  },
  reset: {
    title: 'Reset your password',
    heading: 'Set a new password',
    intro: (jid) => html`Choose a new password for <strong>${jid}</strong>.`,
    appHeading: 'Or use your app',
    appIntro: 'Some apps can set the new password for you when you open this link in them.',
    submit: 'Set new password',
  },

  appsHeading: 'Get an app',
  appsIntro: 'XMPP works with many apps. These are good choices:',
  appOpensInvites: 'opens invites',
  appNeedsAccount: 'create your account below first',
  openHeading: 'Open the invite in your app',
  openIntro: 'Once your app is installed, tap the button on this device, or scan the code with your phone.',
  openButton: 'Open invite in my app',
  qrLabel: 'QR code of the invite link',
  qrCaption: 'Scan with your XMPP app or your camera',
  registerHeading: 'Or create your account here',
  registerIntro: (domain) =>
    html`For apps that cannot open invites: pick a username and password for <strong>${domain}</strong>, then sign in with them in your app.`,
  formOnly: {
    appsIntro: 'XMPP works with many apps. Create your account with the form on this page first, then sign in with it in one of these:',
    registerHeading: 'Create your account',
    registerIntro: (domain) => html`Pick a username and password for <strong>${domain}</strong>, then sign in with them in your app.`,
    haveAccountText: (inviter) => html`Add <strong>${inviter}</strong> as a contact in your app; they will be asked to accept.`,
  },

  form: {
    username: 'Username',
    usernameHint: (domain) => html`Your address will be <em>username</em>@${domain}. Letters, digits, dots and dashes work everywhere.`,
    password: 'Password',
    newPassword: 'New password',
    passwordHint: (min) => `At least ${min} characters; it must not contain your username.`,
    confirm: 'Repeat the password',
    submit: 'Create account',
    errorSummary: 'Please correct the marked fields.',
  },
  fieldErrors: {
    usernameInvalid: (max) =>
      `This username cannot be used. Use at most ${max} characters: letters, digits and . _ - + only, with no spaces.`,
    usernameTaken: (jid) => `${jid} is already taken. Please choose another username.`,
    usernameMismatch: (username) => `This invite is for the username ${username}.`,
    usernameRequired: 'Please choose a username.',
    passwordWeak: (min) =>
      `Choose a stronger password: at least ${min} characters, more than two different characters, not containing your username, and not a commonly used password.`,
    confirmMismatch: 'The two passwords do not match. Please type them again.',
  },
  alerts: {
    unavailable: 'The chat server cannot be reached right now. Nothing was created; please try again in a few minutes.',
    inProgress: 'This account is being created by another request with a different password. Please wait a moment and try again.',
  },

  created: {
    title: 'Your account is ready',
    heading: 'Welcome! Your account is ready',
    intro: (jid) => html`You can now sign in as <strong>${jid}</strong>.`,
    addressLabel: 'Your address',
    nextHeading: 'Next steps',
    stepApp: 'Install an XMPP app (see below) if you have not already.',
    stepSignIn: (jid) =>
      html`In the app, choose to sign in with an existing account and enter <strong>${jid}</strong> and the password you just chose.`,
    stepContact: (inviter) => html`<strong>${inviter}</strong> is already in your contacts: say hello!`,
    appsHeading: 'Apps',
  },
  resetDone: {
    title: 'Password changed',
    heading: 'Your password has been changed',
    intro: (jid) => html`Sign in as <strong>${jid}</strong> with your new password.`,
    next: 'Apps that are still signed in with the old password will ask for the new one.',
  },

  status: {
    'token-invalid': {
      title: 'Invite not found',
      text: 'We could not find this invite. Check that you opened the whole link; invite links are long and easy to cut short.',
    },
    'token-expired': {
      title: 'This invite has expired',
      text: 'Invites are valid for a limited time. Ask the person who invited you for a new one.',
    },
    'token-used': {
      title: 'This invite has already been used',
      text: 'If you used it yourself, your account is ready: sign in with your app. Otherwise ask the person who invited you for a new invite.',
    },
    'token-revoked': {
      title: 'This invite was withdrawn',
      text: 'It can no longer be used. Ask the person who invited you for a new one.',
    },
    error: {
      title: 'Something went wrong',
      text: 'We could not handle your request. Please try again in a few minutes.',
    },
  },
};
