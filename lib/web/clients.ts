/**
 * Recommended XMPP apps shown on the landing page (Prosody's mod_register_apps).
 * Operators replace the list with `INVITES_CLIENTS` (a JSON array of ClientApp,
 * checked at start by lib/jsonSettings.ts).
 */
export const Platforms = ['android', 'ios', 'desktop', 'web'] as const;
export type Platform = (typeof Platforms)[number];

export interface ClientApp {
  name: string;
  platform: Platform;
  /** Where to get it (store page or project site). */
  url: string;
  /** True when the app opens `xmpp:…?register;preauth=…` invite URIs itself. */
  invites: boolean;
  /**
   * Optional install link that carries the invite through the store, with
   * `{uri}` replaced by the percent-encoded invite URI (Conversations reads the
   * Play Store install referrer, so the invite survives the installation).
   */
  magicLink?: string;
  /** Short extra line, e.g. the desktop systems it runs on. */
  note?: string;
}

export const DEFAULT_CLIENTS: readonly ClientApp[] = [
  {
    name: 'Conversations',
    platform: 'android',
    url: 'https://conversations.im/',
    invites: true,
    magicLink: 'https://play.google.com/store/apps/details?id=eu.siacs.conversations&referrer={uri}',
  },
  { name: 'Monocles Chat', platform: 'android', url: 'https://f-droid.org/packages/de.monocles.chat/', invites: true },
  { name: 'Monal', platform: 'ios', url: 'https://monal-im.org/', invites: true, note: 'iPhone, iPad and Mac' },
  { name: 'Siskin IM', platform: 'ios', url: 'https://apps.apple.com/app/siskin-im/id1153516838', invites: true },
  { name: 'Gajim', platform: 'desktop', url: 'https://gajim.org/download/', invites: false, note: 'Windows, macOS, Linux' },
  { name: 'Dino', platform: 'desktop', url: 'https://dino.im/#download', invites: false, note: 'Linux' },
];

/** The link to offer for an app: its magic link carrying this invite, if it has one. */
export const appLink = (app: ClientApp, inviteUri: string | undefined): string =>
  app.magicLink && inviteUri ? app.magicLink.replace('{uri}', encodeURIComponent(inviteUri)) : app.url;
