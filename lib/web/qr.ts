import QRCode from 'qrcode';
import { escapeHtml } from './html.js';

/**
 * An invite link as an inline SVG QR code (the landing page's and the
 * console's): the https landing URL, not the xmpp: URI, so a phone camera
 * without an XMPP app opens the landing page (which offers the apps), and an
 * app that scans it asks the URL and follows its `Link: <xmpp:…>; rel="alternate"`.
 */
export const qrSvg = async (url: string, label: string): Promise<string> => {
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  return svg.trim().replace('<svg ', `<svg class="qr" role="img" aria-label="${escapeHtml(label)}" focusable="false" `);
};
