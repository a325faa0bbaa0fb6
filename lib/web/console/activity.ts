import { InviteError } from '../../errors.js';
import type { Actor } from '../../invites/actor.js';
import type { AuditEntry } from '../../ports/AdminAudit.js';
import { html, type Html } from '../html.js';
import { domainsOf, layout, option, type ConsoleDeps, type ConsoleRoute, type SignedIn } from './core.js';

/**
 * The console's activity page (#21): the audit trail of one domain, newest
 * first, a page at a time: what was done, to what, by which key (its name
 * and source), from where (console, command line). An admin key reads the
 * trails of its own domains; a `*` key also the `*` trail, where actions on
 * `*` keys are recorded (lib/apiKeys/manageKeys.ts keyAuditEntries).
 */

const PAGE = 25;

/** The trails this actor may read: its served domains, and `*` for a `*` key. */
export const activityDomains = (deps: ConsoleDeps, actor: Actor): string[] => [
  ...domainsOf(deps, actor),
  ...(actor.domains.includes('*') ? ['*'] : []),
];

const assertReadable = (deps: ConsoleDeps, actor: Actor, domain: string): void => {
  if (activityDomains(deps, actor).includes(domain)) return;
  const inScope = actor.domains.includes('*') || actor.domains.includes(domain);
  throw inScope
    ? new InviteError('domain-not-served', `${domain} is not a domain this service serves`)
    : new InviteError('forbidden', `this key may not read the activity of ${domain}`);
};

const when = (at: number): string => new Date(at * 1000).toISOString().replace('T', ' ').slice(0, 19);

const detailOf = (detail: AuditEntry['detail']): string =>
  Object.entries(detail ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

const row = (e: AuditEntry): Html =>
  html`<tr data-action="${e.action}"><td data-label="Time" class="nowrap">${when(e.at)}</td><td data-label="Action"><code>${e.action}</code></td><td data-label="Subject">${e.subject ?? '—'}${
    e.detail && Object.keys(e.detail).length > 0 ? html`<br><span class="hint">${detailOf(e.detail)}</span>` : ''
  }</td><td data-label="Key">${e.actorName ?? '—'}<br><code class="nowrap">${e.actor}</code></td><td data-label="Via">${e.via}</td></tr>`;

export const activityPage = async (deps: ConsoleDeps, admin: SignedIn, query: { domain?: string; cursor?: string }): Promise<string> => {
  const domains = activityDomains(deps, admin.actor);
  const domain = query.domain || domains[0];
  if (domain === undefined) throw new InviteError('forbidden', 'this key has no domain this service serves');
  assertReadable(deps, admin.actor, domain);
  const page = await deps.audit.list(domain, {
    limit: PAGE,
    cursor: query.cursor === undefined ? undefined : (admin.open(query.cursor) ?? '!'),
  });
  const next = page.cursor ? `/admin/activity?${new URLSearchParams({ domain, cursor: admin.seal(page.cursor) })}` : undefined;
  return layout(
    'Activity',
    html`<section class="card" aria-labelledby="activity-title"><h1 id="activity-title">Activity</h1><p class="hint">What admins did on a domain, newest first, with the key that did it. Actions on a key are listed under each of its domains; on a key for every domain, under *.</p><form method="get" action="/admin/activity" class="filters"><label for="a-domain">Domain</label><select id="a-domain" name="domain">${domains.map(
      (d) => option(d, d === '*' ? '* (keys for every domain)' : d, domain)
    )}</select><button class="button small" type="submit">Show</button></form>${
      page.items.length === 0
        ? html`<p class="muted">Nothing recorded yet.</p>`
        : html`<div class="scroll"><table class="activity cards"><thead><tr><th>Time (UTC)</th><th>Action</th><th>Subject</th><th>Key</th><th>Via</th></tr></thead><tbody>${page.items.map(
            row
          )}</tbody></table></div>`
    }${next ? html`<p><a href="${next}">Older</a></p>` : ''}</section>`,
    admin,
    '/admin/activity'
  );
};

/** The activity page's route (routes.ts). */
export const activityRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/admin/activity',
    handle: async (deps, { admin, query }) => ({
      status: 200,
      html: await activityPage(deps, admin, { domain: query.domain, cursor: query.cursor }),
    }),
  },
];
