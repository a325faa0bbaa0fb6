import { createHash } from 'node:crypto';
import { CSS } from '../styles.js';
import { CONSOLE_JS_HASH } from './script.js';

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
fieldset{border:1px solid var(--line);border-radius:.4rem;margin:.75rem 0 0;padding:.25rem .75rem .5rem}
legend{color:var(--muted);padding:0 .25rem}
label.check{display:flex;align-items:center;gap:.4rem;margin:.35rem 0;font-weight:400}
label.check input{width:auto;margin:0}
form.revoke-key{display:flex;flex-direction:column;align-items:flex-start;gap:.15rem;min-width:11rem}
form.revoke-key label.check{font-size:.9rem}
.hint.warn{color:var(--bad)}
.nowrap{white-space:nowrap}
@media (max-width:40rem){table.cards thead{display:none}table.cards tr{display:block;padding:.5rem 0;border-bottom:1px solid var(--line)}table.cards td{display:flex;flex-wrap:wrap;gap:0 .5rem;border:0;padding:.15rem 0}table.cards td[data-label]::before{content:attr(data-label);color:var(--muted);font-weight:600;min-width:6rem}}
form.filters input[type=text]{width:auto;flex:1 1 12rem;margin:0}
textarea{font:inherit;color:inherit;background:var(--card);width:100%;padding:.5rem;border:1px solid var(--muted);border-radius:.4rem;box-sizing:border-box}
.copy-row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.copy-row input{flex:1 1 16rem;margin:0}
dl.facts{display:grid;grid-template-columns:1fr;gap:.1rem 1rem;margin:0 0 1rem}
dl.facts dt{color:var(--muted);font-weight:600;margin-top:.5rem}
dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (min-width:40rem){dl.facts{grid-template-columns:max-content 1fr}dl.facts dt{margin-top:0}}
.actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
[hidden]{display:none!important}
textarea[aria-invalid=true]{border-color:var(--bad);border-width:2px}
figure.chart{margin:0 0 1rem}
svg.chart{display:block;width:100%;max-width:30rem;height:auto}
svg.chart text{fill:var(--text);font-size:12px}
svg.chart line.axis{stroke:var(--line);stroke-width:1}
svg.chart text.week{fill:var(--muted);font-weight:600}
.s-issued{fill:var(--muted);background:var(--muted)}
.s-opened{fill:var(--accent);background:var(--accent)}
.s-registered{fill:var(--ok);background:var(--ok)}
.s-refused{fill:var(--bad);background:var(--bad)}
ul.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:.5rem 0 0}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:.15rem;margin-right:.35rem;vertical-align:-.05rem}
ul.reasons{list-style:none;padding:0;margin:.25rem 0 0;font-size:.85rem;color:var(--muted);white-space:nowrap}
table.funnel td{font-variant-numeric:tabular-nums}
table.funnel th[scope=row]{white-space:nowrap}
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

/**
 * The one hashed stylesheet, the one console script by its hash (script.ts:
 * no inline script, no other script of the origin), forms only to ourselves,
 * never framed.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src '${CONSOLE_CSS_HASH}'`,
  `script-src '${CONSOLE_JS_HASH}'`,
  "img-src 'none'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');
