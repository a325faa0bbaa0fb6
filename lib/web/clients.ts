/**
 * Recommended XMPP apps shown on the landing page (Prosody's mod_register_apps).
 * Operators replace the list with `INVITES_CLIENTS` (a JSON array of ClientApp).
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

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value.replace('{uri}', 'x'));
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
};

const text = (value: unknown, max: number): value is string => typeof value === 'string' && value.trim().length > 0 && value.length <= max;

/** Parses `INVITES_CLIENTS`; empty means the defaults. Throws on a malformed list so a bad deploy fails loudly. */
export const parseClientApps = (json: string | undefined): ClientApp[] => {
  if (json === undefined || json.trim() === '') return [...DEFAULT_CLIENTS];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('configuration INVITES_CLIENTS must be a JSON array of apps');
  }
  if (!Array.isArray(parsed) || parsed.length > 50) {
    throw new Error('configuration INVITES_CLIENTS must be a JSON array of at most 50 apps');
  }
  return parsed.map((raw: unknown, i) => {
    const app = (raw ?? {}) as Record<string, unknown>;
    const where = `configuration INVITES_CLIENTS[${i}]`;
    if (!text(app.name, 100)) throw new Error(`${where}.name must be a non-empty string`);
    if (!Platforms.includes(app.platform as Platform)) {
      throw new Error(`${where}.platform must be one of ${Platforms.join(', ')}`);
    }
    if (!isHttpUrl(app.url)) throw new Error(`${where}.url must be an http(s) URL`);
    if (typeof app.invites !== 'boolean') throw new Error(`${where}.invites must be true or false`);
    if (app.magicLink !== undefined && !(isHttpUrl(app.magicLink) && app.magicLink.includes('{uri}'))) {
      throw new Error(`${where}.magicLink must be an http(s) URL containing {uri}`);
    }
    if (app.note !== undefined && !text(app.note, 200)) throw new Error(`${where}.note must be a short string`);
    return {
      name: app.name,
      platform: app.platform as Platform,
      url: app.url,
      invites: app.invites,
      ...(app.magicLink !== undefined ? { magicLink: app.magicLink as string } : {}),
      ...(app.note !== undefined ? { note: app.note as string } : {}),
    };
  });
};

/** The link to offer for an app: its magic link carrying this invite, if it has one. */
export const appLink = (app: ClientApp, inviteUri: string | undefined): string =>
  app.magicLink && inviteUri ? app.magicLink.replace('{uri}', encodeURIComponent(inviteUri)) : app.url;
