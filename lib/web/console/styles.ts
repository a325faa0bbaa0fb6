import { createHash } from 'node:crypto';
import { CSS } from '../styles.js';

/** The landing page's stylesheet plus what the console's tables and forms need; one hashed inline sheet. */
export const CONSOLE_CSS = `${CSS}
main.wide{max-width:72rem}
header.console-nav{max-width:72rem;display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.5rem 1rem}
header.console-nav nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem}
header.console-nav nav a[aria-current=page]{font-weight:700;text-decoration:none}
form.inline{display:inline;margin:0}
button.link{background:none;border:0;padding:0;font:inherit;color:var(--accent);text-decoration:underline;cursor:pointer}
button.link.danger{color:var(--bad)}
select{font:inherit;color:inherit;background:var(--card);padding:.5rem;border:1px solid var(--muted);border-radius:.4rem;max-width:100%}
form.grid{display:grid;grid-template-columns:1fr;gap:0 1rem}
form.grid label{margin-top:.75rem}
form.grid select{width:100%}
form.filters{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:0 0 1rem}
form.filters label{margin:0}
form .button.small,.button.small{margin:0;padding:.45rem .9rem;width:auto}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
.tag.status-valid{border-color:var(--ok);color:var(--ok)}
.tag.status-revoked{border-color:var(--bad);color:var(--bad)}
code{overflow-wrap:anywhere}
@media (min-width:40rem){form.grid{grid-template-columns:1fr 1fr}form.grid .full{grid-column:1/-1}}
ul.tree{list-style:none;margin:.25rem 0 0;padding:0 0 0 .9rem;border-left:2px solid var(--line)}
ul.tree.root{padding-left:0;border-left:0}
ul.tree li{margin:.35rem 0;overflow-wrap:anywhere}
ul.tree li.more{font-style:italic}
ol.chain{margin:0;padding-left:1.25rem}
ol.chain li{margin:.25rem 0;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.jid{overflow-wrap:anywhere}
.tag.status-active{border-color:var(--ok);color:var(--ok)}
.tag.status-suspended,.tag.status-deleted{border-color:var(--bad);color:var(--bad)}
.button.danger{background:var(--bad);border-color:var(--bad)}
label.check{display:flex;gap:.5rem;align-items:flex-start;font-weight:400}
label.check input{width:auto;margin-top:.2rem}
form.revoke,form.continue,form.confirm{margin-top:1rem}
ul.whose{padding-left:1.25rem}
`;

export const CONSOLE_CSS_HASH = `sha256-${createHash('sha256').update(CONSOLE_CSS, 'utf8').digest('base64')}`;

/** No script at all, the one hashed stylesheet, forms only to ourselves, never framed. */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src '${CONSOLE_CSS_HASH}'`,
  "img-src 'none'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');
