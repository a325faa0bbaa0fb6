import { createHash } from 'node:crypto';

/**
 * The pages' only stylesheet, inlined (no extra request) and allowed by its
 * hash in the Content-Security-Policy: no 'unsafe-inline', no style attributes.
 */
export const CSS = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1d2330;--muted:#5a6273;--line:#d9dde5;--accent:#1f5fbf;--accent-text:#fff;--ok:#1c7c43;--bad:#b3261e;--bad-bg:#fdecea;--ok-bg:#e8f5ee}
@media (prefers-color-scheme:dark){:root{--bg:#14171d;--card:#1e232c;--text:#e8eaef;--muted:#a5adbd;--line:#353c49;--accent:#7fb0ff;--accent-text:#0b1730;--ok:#6fd39a;--bad:#ff8a80;--bad-bg:#3a1d1b;--ok-bg:#173325}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:40rem;margin:0 auto;padding:1rem}
header.site{max-width:40rem;margin:0 auto;padding:1rem 1rem 0;color:var(--muted);font-weight:600;letter-spacing:.02em}
.card{background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:1.25rem;margin:0 0 1rem}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 .75rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:0 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .25rem;color:var(--muted)}
p{margin:0 0 .75rem}
strong,.jid{overflow-wrap:anywhere}
.muted{color:var(--muted);font-size:.95rem}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.button{display:inline-block;background:var(--accent);color:var(--accent-text);text-decoration:none;font-weight:600;border:0;border-radius:.5rem;padding:.75rem 1.25rem;font-size:1rem;cursor:pointer;text-align:center}
.button:hover{filter:brightness(1.08)}
.actions{margin:1rem 0}
.qr{display:block;width:14rem;height:14rem;max-width:100%;margin:0 auto;background:#fff;border-radius:.25rem}
figure{margin:1rem 0 0;text-align:center}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.25rem}
ul.apps{list-style:none;margin:0;padding:0}
ul.apps li{display:flex;flex-wrap:wrap;align-items:baseline;gap:.25rem .75rem;padding:.4rem 0;border-bottom:1px solid var(--line)}
ul.apps li:last-child{border-bottom:0}
.tag{font-size:.8rem;border-radius:1rem;padding:0 .5rem;border:1px solid var(--line);color:var(--muted)}
.tag.yes{border-color:var(--ok);color:var(--ok)}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
.field{display:flex;align-items:center;gap:.25rem}
.field .suffix{color:var(--muted);white-space:nowrap}
input[type=text],input[type=password]{width:100%;font:inherit;color:inherit;background:var(--card);padding:.6rem .7rem;border:1px solid var(--muted);border-radius:.4rem}
input[aria-invalid=true]{border-color:var(--bad);border-width:2px}
.hint{color:var(--muted);font-size:.9rem;margin:.25rem 0 0}
.error{color:var(--bad);font-weight:600;font-size:.95rem;margin:.25rem 0 0}
.alert{background:var(--bad-bg);color:var(--text);border-left:4px solid var(--bad);padding:.75rem 1rem;border-radius:.25rem;margin:0 0 1rem}
.success{background:var(--ok-bg);border-left:4px solid var(--ok);padding:.75rem 1rem;border-radius:.25rem;margin:0 0 1rem}
form .button{margin-top:1.25rem;width:100%}
ol.steps{padding-left:1.25rem;margin:0}
ol.steps li{margin:.35rem 0}
dl.address{margin:0 0 1rem}
dl.address dt{color:var(--muted);font-size:.9rem}
dl.address dd{margin:0;font-size:1.25rem;font-weight:700;overflow-wrap:anywhere}
@media (min-width:40rem){main{padding:1.5rem 1rem}.card{padding:1.5rem 1.75rem}h1{font-size:1.9rem}form .button{width:auto}}
`.trim();

export const CSS_HASH = `sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}`;
