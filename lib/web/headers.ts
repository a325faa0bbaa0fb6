import { CSS_HASH } from './styles.js';

/**
 * No script at all, the one hashed stylesheet, forms only to ourselves,
 * never framed. Inline SVG (the QR code) needs no source.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src '${CSS_HASH}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

/** Features the page never uses, limited to names browsers know (unknown ones log console errors). */
const PERMISSIONS_POLICY = [
  'accelerometer',
  'camera',
  'display-capture',
  'fullscreen',
  'geolocation',
  'gyroscope',
  'hid',
  'idle-detection',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'publickey-credentials-get',
  'screen-wake-lock',
  'serial',
  'usb',
]
  .map((feature) => `${feature}=()`)
  .join(', ');

/** Headers of every landing page: personal (it holds the token), so never cached or indexed. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-language': 'en',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex, nofollow',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'permissions-policy': PERMISSIONS_POLICY,
};
