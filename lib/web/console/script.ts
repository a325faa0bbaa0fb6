import { createHash } from 'node:crypto';

/**
 * The console's one script (#21), progressive enhancement only: every page
 * works without it. It shows the copy buttons (hidden in the markup) and
 * copies their field's text with the Clipboard API. It builds no markup and
 * evaluates no string, so the pages keep `require-trusted-types-for 'script'`.
 *
 * Served by the console function itself at CONSOLE_JS_PATH and allowed by the
 * CSP only by its hash (`script-src 'sha256-...'`, the tag carries the same
 * `integrity`): no inline script, no other script of the origin.
 */
export const CONSOLE_JS = `'use strict';
for (const button of document.querySelectorAll('button[data-copy]')) {
  const source = document.getElementById(button.getAttribute('data-copy'));
  if (!source || !navigator.clipboard || !window.isSecureContext) continue;
  const label = button.textContent;
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Could not copy: select the link';
    }
    setTimeout(() => { button.textContent = label; }, 4000);
  });
}
`;

const digest = createHash('sha256').update(CONSOLE_JS, 'utf8');

/** The CSP source and the tag's `integrity`: the same SHA-256 of the file. */
export const CONSOLE_JS_HASH = `sha256-${digest.copy().digest('base64')}`;

/** Versioned by its hash, so a long cache never serves an old script under a new page. */
export const CONSOLE_JS_PATH = `/admin/console.js?v=${digest.digest('hex').slice(0, 16)}`;

/** The script's response headers: cached for a year (the path changes with the content). */
export const CONSOLE_JS_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'public, max-age=31536000, immutable',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'",
};
