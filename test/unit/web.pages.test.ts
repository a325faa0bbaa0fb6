import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appLink, DEFAULT_CLIENTS } from '../../lib/web/clients.js';
import { CONTENT_SECURITY_POLICY, PAGE_HEADERS } from '../../lib/web/headers.js';
import { html } from '../../lib/web/html.js';
import { donePage, invitePage, statusPage, type InvitePageData } from '../../lib/web/pages.js';
import { en } from '../../lib/web/texts.js';

const URI = 'xmpp:localhost?register;preauth=AAAAAAAAAAAAAAAAAAAAAAAA';

const data = (over: Partial<InvitePageData> = {}): InvitePageData => ({
  type: 'account',
  domain: 'localhost',
  expiresAt: 1_800_000_000,
  usesLeft: 1,
  uri: URI,
  qrSvg: '<svg class="qr"></svg>',
  inApp: true,
  clients: DEFAULT_CLIENTS,
  passwordMinLength: 8,
  usernameMaxLength: 64,
  ...over,
});

describe('Function: html', () => {
  it('escapes every interpolated value unless it is already Html', () => {
    const hostile = `"><script>alert('x')</script>&`;
    expect(html`<p title="${hostile}">${hostile}</p>`.value).toBe(
      '<p title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</p>'
    );
    expect(html`<b>${html`<i>${'<'}</i>`}</b>`.value).toBe('<b><i>&lt;</i></b>');
    expect(html`${['a', null, undefined, false, 1]}`.value).toBe('a1');
  });
});

describe('Function: invitePage', () => {
  it('never lets invite data or typed input inject markup', () => {
    const evil = '<script>x</script>';
    const page = invitePage(
      en,
      data({ type: 'contact', inviter: `${evil}@localhost`, form: { username: `"${evil}`, errors: { username: evil } } })
    );
    expect(page).not.toContain('<script');
    expect(page).toContain('&lt;script&gt;x&lt;/script&gt;@localhost');
    expect(page).toContain('value="&quot;&lt;script&gt;');
  });

  it('carries the stylesheet the CSP allows by hash, and no script or style attribute', () => {
    const page = invitePage(en, data());
    const css = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1] ?? '';
    const hash = createHash('sha256').update(css, 'utf8').digest('base64');
    expect(CONTENT_SECURITY_POLICY).toContain(`style-src 'sha256-${hash}'`);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|script-src/);
    expect(page).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    expect(PAGE_HEADERS['cache-control']).toBe('no-store');
  });

  it('offers the invite URI as a button, the QR code, the apps and a registration form', () => {
    const page = invitePage(en, data());
    expect(page).toContain(`<a class="button" id="open-invite" href="${URI}">`);
    expect(page).toContain('<svg class="qr">');
    expect(page).toContain(
      `href="https://play.google.com/store/apps/details?id=eu.siacs.conversations&amp;referrer=${encodeURIComponent(URI)}"`
    );
    expect(page).toContain('name="username"');
    expect(page).toContain('autocomplete="new-password"');
    expect(page).toContain('minlength="8"');
  });

  describe("where the domain's server does not run the module (inApp false)", () => {
    const noApp = (over: Partial<InvitePageData> = {}) => invitePage(en, data({ inApp: false, qrSvg: '', ...over }));
    const noInviteInApps = (page: string) => {
      expect(page).not.toContain('id="open-invite"');
      expect(page).not.toContain(en.openButton);
      expect(page).not.toContain('<svg class="qr"');
      expect(page).not.toContain('preauth=');
      // Plain store links, without the invite as referrer.
      expect(page).toContain('href="https://conversations.im/"');
      expect(page).not.toContain(en.appOpensInvites);
    };

    it('offers no way to open the invite in an app and points to the form', () => {
      const page = noApp();
      noInviteInApps(page);
      expect(page).toContain(en.formOnly.appsIntro);
      expect(page).toContain(en.formOnly.registerHeading);
      expect(page).toContain('name="username"');
    });

    it('offers a reset only through the form', () => {
      const page = noApp({ type: 'reset', username: 'juliet' });
      expect(page).not.toContain('id="open-invite"');
      expect(page).not.toContain('<svg class="qr"');
      expect(page).not.toContain('preauth=');
      expect(page).not.toContain(en.reset.appHeading);
      expect(page).toContain(en.reset.submit);
    });

    it('lets an existing account add the inviter with a plain roster link, no token', () => {
      const page = noApp({
        type: 'contact',
        inviter: 'romeo@localhost',
        uri: 'xmpp:romeo@localhost?roster;preauth=AAAAAAAAAAAAAAAAAAAAAAAA;ibr=y',
      });
      noInviteInApps(page);
      expect(page).toContain('<a class="button" id="add-contact" href="xmpp:romeo@localhost?roster">');
      expect(page).toContain('name="username"');
    });
  });

  it('asks no username when the invite presets it, and a reset invite asks only the new password', () => {
    expect(invitePage(en, data({ username: 'juliet' }))).not.toContain('name="username"');
    const reset = invitePage(en, data({ type: 'reset', username: 'juliet' }));
    expect(reset).not.toContain('name="username"');
    expect(reset).toContain('juliet@localhost');
    expect(reset).toContain(en.reset.submit);
  });

  it('marks the fields in error, focuses the first one and keeps the username', () => {
    const page = invitePage(en, data({ form: { username: 'alice', errors: { password: 'weak', confirm: 'mismatch' } } }));
    expect(page).toContain('value="alice"');
    expect(page).toMatch(/id="password"[^>]*aria-describedby="password-error password-hint" aria-invalid="true" autofocus>/);
    expect(page).toMatch(/id="confirm"[^>]*aria-invalid="true">/);
    expect(page.match(/autofocus/g)).toHaveLength(1);
    expect(page).toContain('<p class="error" id="confirm-error">mismatch</p>');
  });
});

describe('Functions: donePage, statusPage', () => {
  it('shows the new JID and, for an invite with an inviter, that they are contacts', () => {
    const page = donePage(en, {
      outcome: 'created',
      jid: 'alice@localhost',
      domain: 'localhost',
      inviter: 'romeo@localhost',
      clients: DEFAULT_CLIENTS,
    });
    expect(page).toContain('<dd id="jid">alice@localhost</dd>');
    expect(page).toContain('romeo@localhost</strong> is already in your contacts');
    // No invite to carry any more: plain store links.
    expect(page).toContain('href="https://conversations.im/"');
  });

  it('says which state a dead invite is in', () => {
    expect(statusPage(en, 'token-expired')).toContain('data-status="token-expired"');
    expect(statusPage(en, 'token-used')).toContain(en.status['token-used'].title);
  });
});

describe('Function: appLink', () => {
  it('puts the percent-encoded invite URI into a magic link', () => {
    const app = { name: 'A', platform: 'android' as const, url: 'https://a/', invites: true, magicLink: 'https://s/?referrer={uri}' };
    expect(appLink(app, URI)).toBe(`https://s/?referrer=${encodeURIComponent(URI)}`);
    expect(appLink(app, undefined)).toBe('https://a/');
  });
});
