import { JoinedVias } from '../../lineage/Lineage.js';
import type { FunnelCounters } from '../../ports/FunnelCounters.js';
import { funnelOf, registeredTotal, refusedTotal, type Funnel, type FunnelWeek } from '../../stats/funnel.js';
import { InviteError } from '../../errors.js';
import { html, type Html } from '../html.js';
import { domainsOf, layout, option, type ConsoleDeps, type ConsoleRoute, type SignedIn } from './core.js';

/**
 * The console's onboarding page (#21): per ISO week of one domain, invites
 * issued, landing pages opened, registrations by channel, refusals by
 * reason, as a table and a chart drawn here as inline SVG (no script; its
 * colours are classes of the console's stylesheet).
 */

/** The counters the page reads (ConsoleDeps.funnel). */
export type FunnelReader = Pick<FunnelCounters, 'read'>;

const WEEK_CHOICES = [4, 8, 13, 26];
/** The choices, with the number shown when the URL asked for another (so the form says what the page shows). */
const weekChoices = (current: number): number[] => [...new Set([...WEEK_CHOICES, current])].sort((a, b) => a - b);

const SERIES = [
  { key: 'issued', label: 'Invites issued', value: (w: FunnelWeek) => w.issued },
  { key: 'opened', label: 'Landing pages opened', value: (w: FunnelWeek) => w.opened },
  { key: 'registered', label: 'Registrations', value: registeredTotal },
  { key: 'refused', label: 'Refusals', value: refusedTotal },
] as const;

/** `2026-W49` -> `W49` (the year is in the table). */
const shortWeek = (week: string) => week.slice(week.indexOf('-') + 1);

/**
 * A horizontal bar chart, a group of bars per week (rows, so it grows down and
 * stays readable on a phone), scaled to the largest value. Numbers only from
 * the counts; every label is escaped.
 */
export const funnelChart = (funnel: Funnel): Html => {
  const W = 320;
  const LABEL = 40;
  const BAR = 9;
  const GAP = 10;
  const ROW = SERIES.length * BAR + GAP;
  const plot = W - LABEL - 36;
  const height = funnel.weeks.length * ROW + 4;
  const max = Math.max(1, ...funnel.weeks.flatMap((w) => SERIES.map((s) => s.value(w))));
  const rows = funnel.weeks.map((w, i) => {
    const y = 2 + i * ROW;
    const bars = SERIES.map((s, j) => {
      const value = s.value(w);
      const width = Math.round((value / max) * plot * 10) / 10;
      const top = y + j * BAR;
      // A zero is no bar and no number: the axis line says it.
      return value === 0
        ? html``
        : html`<rect class="bar s-${s.key}" x="${LABEL}" y="${top}" width="${width}" height="${BAR - 1}"></rect><text class="value" x="${LABEL + width + 3}" y="${top + BAR - 1}">${value}</text>`;
    });
    return html`<g><text class="week" x="0" y="${y + (SERIES.length * BAR) / 2 + 3}">${shortWeek(w.week)}</text>${bars}</g>`;
  });
  const summary = `Per week, ${SERIES.map((s) => s.label.toLowerCase()).join(', ')} on ${funnel.domain}, the last ${funnel.weeks.length} weeks`;
  return html`<svg class="chart" role="img" viewBox="0 0 ${W} ${height}" aria-labelledby="chart-title"><title id="chart-title">${summary}</title><line class="axis" x1="${LABEL - 0.5}" y1="0" x2="${LABEL - 0.5}" y2="${height}"></line>${rows}</svg>`;
};

const legend = (): Html =>
  html`<ul class="legend">${SERIES.map((s) => html`<li><span class="swatch s-${s.key}" aria-hidden="true"></span>${s.label}</li>`)}</ul>`;

const reasons = (week: FunnelWeek): Html => {
  const entries = Object.entries(week.refused).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0
    ? html``
    : html`<ul class="reasons">${entries.map(([reason, n]) => html`<li data-reason="${reason}"><code>${reason}</code> ${n}</li>`)}</ul>`;
};

const row = (w: FunnelWeek): Html =>
  html`<tr data-week="${w.week}"><th scope="row">${w.week}<br><span class="muted dates">${w.from.slice(5)} – ${w.to.slice(5)}</span></th><td data-count="issued">${w.issued}</td><td data-count="opened">${w.opened}</td><td data-count="registered">${registeredTotal(w)}</td>${JoinedVias.map(
    (via) => html`<td data-count="registered-${via}">${w.registered[via]}</td>`
  )}<td data-count="refused">${refusedTotal(w)}${reasons(w)}</td></tr>`;

/** The onboarding page of one domain, newest week first in the table. */
export const funnelPage = (admin: SignedIn, domains: string[], funnel: Funnel): string =>
  layout(
    'Onboarding',
    html`<section class="card" aria-labelledby="funnel-title"><h1 id="funnel-title">Onboarding on ${funnel.domain}</h1><form method="get" action="/admin/funnel" class="filters"><label for="f-domain">Domain</label><select id="f-domain" name="domain">${domains.map(
      (d) => option(d, d, funnel.domain)
    )}</select><label for="f-weeks">Weeks</label><select id="f-weeks" name="weeks">${weekChoices(funnel.weeks.length).map((n) =>
      option(String(n), String(n), String(funnel.weeks.length))
    )}</select><button class="button small" type="submit">Show</button></form><p class="muted">ISO weeks (Monday to Sunday, UTC); the last is this week so far. Issued and registered are counted from the table's stream, seconds after the fact.</p><figure class="chart">${funnelChart(funnel)}<figcaption>${legend()}</figcaption></figure><div class="scroll"><table class="funnel"><thead><tr><th scope="col">Week</th><th scope="col">Issued</th><th scope="col">Opened</th><th scope="col">Registered</th>${JoinedVias.map(
      (via) => html`<th scope="col">${via}</th>`
    )}<th scope="col">Refused</th></tr></thead><tbody>${[...funnel.weeks].reverse().map(row)}</tbody></table></div></section>`,
    admin,
    '/admin/funnel'
  );

/** The onboarding page's route (routes.ts). */
export const funnelRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/admin/funnel',
    handle: async (deps: ConsoleDeps, { admin, query }) => {
      if (!deps.funnel) throw new InviteError('internal', 'the onboarding counters are not wired');
      const domains = domainsOf(deps, admin.actor);
      const domain = query.domain || domains[0];
      if (!domain) throw new InviteError('forbidden', 'this key may act on no domain this service serves');
      const funnel = await funnelOf({ counters: deps.funnel, clock: deps.clock, config: deps.config }, admin.actor, {
        domain,
        weeks: query.weeks || undefined,
      });
      return { status: 200, html: funnelPage(admin, domains, funnel) };
    },
  },
];
