import { InviteError, isInviteError, type ErrorCode } from '../../errors.js';
import { revokeLineage, suspendAccount, unsuspendAccount } from '../../lineage/containment.js';
import { showLineage, type LineageView } from '../../lineage/showLineage.js';
import { html, type Html, type Part } from '../html.js';
import { audited, field, layout, type ConsoleDeps, type ConsoleResult, type ConsoleRoute, type SignedIn } from './core.js';

/**
 * The console's lineage page (#21): an account, its inviter chain up to the
 * root, its invitees as a nested tree; suspend / unsuspend; and revoke the
 * live invites of an account (or its whole subtree) in two steps, a dry run
 * that shows what would go, then a confirm. Everything goes through
 * lib/lineage (showLineage, revokeLineage, suspendAccount, unsuspendAccount)
 * with the key's actor, as the API's /lineage routes do.
 *
 * The confirm form carries no JID or flag of its own: only a handle sealed
 * for the session naming what the dry run showed (the JID, subtree or not,
 * where the walk stands), valid for REVOKE_HANDLE_SECONDS. Invite ids never
 * reach a page; lineage cursors appear only sealed.
 */

/** Generations of invitees shown below the account (showLineage's depth, at most MAX_LINEAGE_DEPTH). */
export const TREE_DEPTH = 4;
/** Invitees shown per account and level before a "more" link. */
export const TREE_PAGE = 20;
/** Ancestors read up the inviter chain, at most. */
export const MAX_CHAIN = 20;
/** How long a dry run's confirm (or a continue) stays valid. */
export const REVOKE_HANDLE_SECONDS = 15 * 60;

/** What a revoke form's sealed handle names: the account, subtree or not, dry or real, where the walk continues, when it was shown. */
interface RevokeHandle {
  k: 'lineage-revoke';
  j: string;
  s: boolean;
  d: boolean;
  c: string | null;
  t: number;
}

const domainOf = (jid: string) => jid.slice(jid.indexOf('@') + 1);

const lineageLink = (jid: string): string => `/admin/lineage?${new URLSearchParams({ jid })}`;

const joined = (v: LineageView): Part =>
  v.joinedAt ? html`joined ${v.joinedAt.slice(0, 10)}${v.via ? html` via ${v.via}` : ''}` : v.via ? `via ${v.via}` : 'joined: unknown';

const statusTag = (v: LineageView): Html =>
  html`<span class="tag status-${v.status}" data-status="${v.status}">${v.status}${
    v.status === 'suspended' && v.suspendedAt
      ? ` ${v.suspendedAt.slice(0, 10)}`
      : v.status === 'deleted' && v.deletedAt
        ? ` ${v.deletedAt.slice(0, 10)}`
        : ''
  }</span>`;

/** One account in the tree: its link, status, when and how it joined, and its invitees below. */
const treeNode = (admin: SignedIn, v: LineageView): Html =>
  html`<li data-jid="${v.jid}"><a class="jid" href="${lineageLink(v.jid)}">${v.jid}</a> ${statusTag(v)} <span class="muted">${joined(v)}</span>${
    v.invitees ? invitees(admin, v) : ''
  }</li>`;

/** An account's invitees as a nested list; a "more" link (sealed cursor) when this level is cut. */
const invitees = (admin: SignedIn, v: LineageView): Part => {
  const items = v.invitees?.items ?? [];
  const cursor = v.invitees?.cursor;
  if (items.length === 0 && !cursor) return '';
  return html`<ul class="tree">${items.map((child) => treeNode(admin, child))}${
    cursor
      ? html`<li class="more"><a href="/admin/lineage?${new URLSearchParams({ jid: v.jid, cursor: admin.seal(cursor) }).toString()}">More invitees of ${v.jid}</a></li>`
      : ''
  }</ul>`;
};

/** Who brought the account in: the inviting account, else the invite's source (an API key, a signup source, open registration). */
const broughtInBy = (v: LineageView): Part =>
  v.invitedBy ? html`<a class="jid" href="${lineageLink(v.invitedBy)}">${v.invitedBy}</a>` : html`<code>${v.source}</code>`;

/** The inviter chain, root first, as far as records go and the key's domains reach. */
const inviterChain = async (deps: ConsoleDeps, admin: SignedIn, account: LineageView) => {
  const chain: { jid: string; view?: LineageView; note?: string }[] = [];
  const seen = new Set([account.jid]);
  for (let up = account.invitedBy; up !== null && chain.length < MAX_CHAIN; ) {
    const jid: string = up;
    if (seen.has(jid)) break;
    seen.add(jid);
    try {
      const view = await showLineage(deps.containment, admin.actor, jid, { limit: 1 });
      chain.push({ jid, view });
      up = view.invitedBy;
    } catch (error) {
      if (!isInviteError(error) || !['forbidden', 'account-not-found', 'jid-invalid'].includes(error.code)) throw error;
      chain.push({ jid, note: error.code === 'forbidden' ? 'of a domain this key may not act on' : 'no record' });
      break;
    }
  }
  const top = chain[chain.length - 1]?.view ?? (chain.length === 0 ? account : undefined);
  return { chain: chain.reverse(), root: top && top.invitedBy === null ? top.source : undefined, cut: chain.length >= MAX_CHAIN };
};

const chainSection = (chain: Awaited<ReturnType<typeof inviterChain>>, account: LineageView): Html =>
  html`<section class="card" aria-labelledby="chain-title"><h2 id="chain-title">Inviter chain</h2>${
    chain.chain.length === 0
      ? html`<p class="muted">No inviting account: ${account.jid} was brought in by <code>${account.source}</code>.</p>`
      : html`<ol class="chain">${
          chain.root
            ? html`<li class="muted">brought in by <code>${chain.root}</code></li>`
            : chain.cut
              ? html`<li class="muted">…</li>`
              : ''
        }${chain.chain.map((c) =>
          c.view
            ? html`<li><a class="jid" href="${lineageLink(c.jid)}">${c.jid}</a> ${statusTag(c.view)}</li>`
            : html`<li><span class="jid">${c.jid}</span> <span class="muted">(${c.note})</span></li>`
        )}<li aria-current="true"><strong class="jid">${account.jid}</strong></li></ol>`
  }</section>`;

const lookupForm = (jid: string | undefined, error?: { code: ErrorCode; message: string }): Html =>
  html`<section class="card" aria-labelledby="lookup-title"><h1 id="lookup-title">Lineage</h1>${
    error ? html`<p class="alert" role="alert" data-error="${error.code}">${error.message}</p>` : ''
  }<form method="get" action="/admin/lineage" class="filters"><label for="jid">Account (JID)</label><input type="text" id="jid" name="jid" value="${
    jid ?? ''
  }" placeholder="alice@example.org" autocomplete="off" required><button class="button small" type="submit">Show</button></form><p class="hint">Who brought an account in, and whom it brought in. Accounts of this key's domains only.</p></section>`;

const actionsSection = (admin: SignedIn, v: LineageView): Html =>
  html`<section class="card" aria-labelledby="actions-title"><h2 id="actions-title">Containment</h2>${
    v.status === 'suspended'
      ? html`<form method="post" action="/admin/lineage/unsuspend" class="inline"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="jid" value="${v.jid}"><button class="button small" type="submit">Lift the suspension</button></form><p class="hint">Its revoked invites stay revoked.</p>`
      : v.status === 'active'
        ? html`<form method="post" action="/admin/lineage/suspend" class="inline"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="jid" value="${v.jid}"><button class="button small danger" type="submit">Suspend</button></form><p class="hint">Revokes its live invites and refuses its new ones until lifted.</p>`
        : html`<p class="muted">A deleted account issues no invites.</p>`
  }<form method="post" action="/admin/lineage/revoke" class="revoke"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="jid" value="${v.jid}"><label class="check"><input type="checkbox" name="subtree" value="1" checked> the whole subtree (everyone ${v.jid} brought in, and below)</label><button class="button small" type="submit">Revoke live invites…</button><p class="hint">Shows what would be revoked first; nothing changes until you confirm.</p></form></section>`;

/** The lineage page: the lookup form, and for a JID the account, its chain, its tree and the actions. */
export const lineagePage = async (
  deps: ConsoleDeps,
  admin: SignedIn,
  query: { jid?: string; cursor?: string },
  extra: { notice?: string } = {},
  page = TREE_PAGE
): Promise<ConsoleResult> => {
  const jid = query.jid?.trim() || undefined;
  if (jid === undefined) return { status: 200, html: layout('Lineage', lookupForm(undefined), admin, '/admin/lineage') };
  let view: LineageView;
  try {
    view =
      query.cursor === undefined
        ? await showLineage(deps.containment, admin.actor, jid, { depth: TREE_DEPTH, limit: page })
        : await showLineage(deps.containment, admin.actor, jid, { limit: page, cursor: admin.open(query.cursor) ?? '!' });
  } catch (error) {
    if (!isInviteError(error) || error.code === 'internal') throw error;
    return { status: error.code, html: layout('Lineage', lookupForm(jid, error), admin, '/admin/lineage') };
  }
  const chain = await inviterChain(deps, admin, view);
  const body: Part[] = [
    extra.notice ? html`<p class="success" role="status">${extra.notice}</p>` : '',
    lookupForm(view.jid),
    html`<section class="card" aria-labelledby="account-title" data-account="${view.jid}"><h2 id="account-title" class="jid">${view.jid}</h2><dl class="facts"><dt>Status</dt><dd>${statusTag(view)}</dd><dt>Joined</dt><dd>${
      view.joinedAt ? view.joinedAt.slice(0, 16).replace('T', ' ') : 'unknown'
    }${view.via ? ` via ${view.via}` : ''}</dd><dt>Invited by</dt><dd>${broughtInBy(view)}</dd>${
      view.recorded
        ? ''
        : html`<dt>Record</dt><dd class="muted">read from an older redemption, or an account made outside this service</dd>`
    }</dl></section>`,
    chainSection(chain, view),
    html`<section class="card" aria-labelledby="tree-title"><h2 id="tree-title">Invitees${query.cursor ? ' (more)' : ''}</h2>${
      (view.invitees?.items.length ?? 0) === 0 && !view.invitees?.cursor
        ? html`<p class="muted">${query.cursor ? 'No more invitees.' : `${view.jid} has brought no one in.`}</p>`
        : html`<ul class="tree root">${view.invitees?.items.map((child) => treeNode(admin, child))}${
            view.invitees?.cursor
              ? html`<li class="more"><a href="/admin/lineage?${new URLSearchParams({ jid: view.jid, cursor: admin.seal(view.invitees.cursor) }).toString()}">More invitees of ${view.jid}</a></li>`
              : ''
          }</ul><p class="hint">${
            query.cursor
              ? 'Direct invitees only on this page; open an account for its own tree.'
              : `${TREE_DEPTH} generations; open an account to see further down.`
          }</p>`
    }</section>`,
    actionsSection(admin, view),
  ];
  return { status: 200, html: layout(`Lineage of ${view.jid}`, html`${body}`, admin, '/admin/lineage') };
};

const sealHandle = (deps: ConsoleDeps, admin: SignedIn, h: Omit<RevokeHandle, 'k' | 't'>): string =>
  admin.seal(JSON.stringify({ k: 'lineage-revoke', ...h, t: deps.clock.now() } satisfies RevokeHandle));

const refusedHandle = () =>
  new InviteError(
    'invalid-request',
    'this confirmation is not one this session showed, or it is older than 15 minutes: run the dry run again'
  );

/** A revoke form's sealed handle, checked: this session's, recent, well formed. */
export const openHandle = (deps: ConsoleDeps, admin: SignedIn, raw: unknown): RevokeHandle => {
  const text = admin.open(raw);
  if (text === undefined) throw refusedHandle();
  let h: RevokeHandle;
  try {
    h = JSON.parse(text) as RevokeHandle;
  } catch {
    throw refusedHandle();
  }
  if (
    typeof h !== 'object' ||
    h === null ||
    h.k !== 'lineage-revoke' ||
    typeof h.j !== 'string' ||
    typeof h.s !== 'boolean' ||
    typeof h.d !== 'boolean' ||
    (h.c !== null && typeof h.c !== 'string') ||
    typeof h.t !== 'number' ||
    deps.clock.now() - h.t > REVOKE_HANDLE_SECONDS ||
    h.t > deps.clock.now() + 60
  ) {
    throw refusedHandle();
  }
  return h;
};

type RevokeResult = Awaited<ReturnType<typeof revokeLineage>>;

const whose = (r: RevokeResult): Html =>
  r.byAccount.length === 0
    ? html`<p class="muted">No live invites${r.subtree ? ' in this subtree' : ''}.</p>`
    : html`<ul class="whose">${r.byAccount.map(
        (a) =>
          html`<li data-jid="${a.jid}"><a class="jid" href="${lineageLink(a.jid)}">${a.jid}</a>: <strong>${a.invites}</strong> live invite${a.invites === 1 ? '' : 's'}</li>`
      )}</ul>`;

const handleForm = (admin: SignedIn, handle: string, label: string, cls: string): Html =>
  html`<form method="post" action="/admin/lineage/revoke" class="${cls}"><input type="hidden" name="csrf" value="${admin.csrf}"><input type="hidden" name="handle" value="${handle}"><button class="button small${
    cls === 'confirm' ? ' danger' : ''
  }" type="submit">${label}</button></form>`;

/** A dry run's page: what would be revoked, the Confirm form, and (a bounded walk) a form to preview the rest. */
const previewPage = (deps: ConsoleDeps, admin: SignedIn, r: RevokeResult, continued: boolean): string => {
  const what = r.subtree ? html`<span class="jid">${r.jid}</span> and everyone below it` : html`<span class="jid">${r.jid}</span>`;
  const confirm = r.revoked > 0 || r.cursor !== null ? sealHandle(deps, admin, { j: r.jid, s: r.subtree, d: false, c: null }) : undefined;
  return layout(
    'Revoke: dry run',
    html`<section class="card" aria-labelledby="dry-title" data-dry-run="true"><h1 id="dry-title">Dry run: nothing revoked yet</h1><p>Revoking the live invites of ${what} would revoke <strong data-count="${r.revoked}">${r.revoked}</strong> live invite${
      r.revoked === 1 ? '' : 's'
    }${continued ? ' more' : ''} (${r.accounts} account${r.accounts === 1 ? '' : 's'} looked at):</p>${whose(r)}${
      r.cursor
        ? html`<p class="alert" role="status">The walk stops after a bounded amount of work per request: there is more below. Confirming revokes everything, a part per request.</p>${handleForm(
            admin,
            sealHandle(deps, admin, { j: r.jid, s: r.subtree, d: true, c: r.cursor }),
            'Continue the dry run',
            'continue'
          )}`
        : ''
    }${
      confirm
        ? html`<p class="hint">Confirm within 15 minutes. Invites created since this dry run are revoked too.</p>${handleForm(admin, confirm, 'Confirm: revoke them', 'confirm')}`
        : ''
    }<p><a href="${lineageLink(r.jid)}">Back to ${r.jid}</a></p></section>`,
    admin,
    '/admin/lineage'
  );
};

/** A real revoke's page: what this request revoked, and (a bounded walk) a form to continue. */
const revokedPage = (deps: ConsoleDeps, admin: SignedIn, r: RevokeResult): string =>
  layout(
    'Revoked',
    html`<section class="card" aria-labelledby="done-title" data-dry-run="false"><h1 id="done-title">Revoked</h1><p class="success" role="status">Revoked <strong data-count="${r.revoked}">${r.revoked}</strong> live invite${
      r.revoked === 1 ? '' : 's'
    } of <span class="jid">${r.jid}</span>${r.subtree ? ' and its subtree' : ''}.</p>${whose(r)}${
      r.cursor
        ? html`<p class="alert" role="status">Not done yet: the walk stops after a bounded amount of work per request.</p>${handleForm(
            admin,
            sealHandle(deps, admin, { j: r.jid, s: r.subtree, d: false, c: r.cursor }),
            'Continue revoking',
            'confirm'
          )}`
        : ''
    }<p><a href="${lineageLink(r.jid)}">Back to ${r.jid}</a></p></section>`,
    admin,
    '/admin/lineage'
  );

/** POST /admin/lineage/revoke: a new dry run (jid, subtree), or a sealed handle's confirm or continue. */
export const revokeAction = async (deps: ConsoleDeps, admin: SignedIn, form: Record<string, unknown>): Promise<string> => {
  if (form.handle === undefined) {
    const r = await revokeLineage(deps.containment, admin.actor, field(form, 'jid') ?? '', { subtree: form.subtree === '1', dryRun: true });
    return previewPage(deps, admin, r, false);
  }
  const h = openHandle(deps, admin, form.handle);
  const r = await revokeLineage(deps.containment, admin.actor, h.j, { subtree: h.s, dryRun: h.d, cursor: h.c ?? undefined });
  if (r.dryRun) return previewPage(deps, admin, r, true);
  await audited(deps, admin, {
    action: 'lineage.revoked',
    domain: domainOf(r.jid),
    subject: r.jid,
    detail: { subtree: r.subtree, revoked: r.revoked, complete: r.cursor === null },
  });
  return revokedPage(deps, admin, r);
};

/** A refused lineage form answers the lookup page with the error and its status. */
const refused = (admin: SignedIn, jid: string | undefined, error: unknown): ConsoleResult => {
  if (!isInviteError(error) || error.code === 'internal') throw error;
  return { status: error.code, html: layout('Lineage', lookupForm(jid, error), admin, '/admin/lineage') };
};

/** The lineage page's routes (routes.ts). */
export const lineageRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/admin/lineage',
    handle: async (deps, { admin, query }) => {
      const suspended = query.suspended !== undefined && /^\d{1,6}$/.test(query.suspended) ? Number(query.suspended) : undefined;
      const notice =
        suspended !== undefined
          ? `Suspended; ${suspended} live invite${suspended === 1 ? '' : 's'} revoked.`
          : query.unsuspended !== undefined
            ? 'Suspension lifted.'
            : undefined;
      return lineagePage(deps, admin, { jid: query.jid, cursor: query.cursor || undefined }, notice ? { notice } : {});
    },
  },
  {
    method: 'POST',
    path: '/admin/lineage/revoke',
    handle: async (deps, { admin, form }) => {
      try {
        return { status: 200, html: await revokeAction(deps, admin, form) };
      } catch (error) {
        return refused(admin, field(form, 'jid'), error);
      }
    },
  },
  {
    method: 'POST',
    path: '/admin/lineage/suspend',
    handle: async (deps, { admin, form }) => {
      try {
        const r = await suspendAccount(deps.containment, admin.actor, field(form, 'jid') ?? '');
        await audited(deps, admin, {
          action: 'account.suspended',
          domain: domainOf(r.jid),
          subject: r.jid,
          detail: { revoked: r.revoked },
        });
        return { status: 303, location: `${lineageLink(r.jid)}&suspended=${r.revoked}` };
      } catch (error) {
        return refused(admin, field(form, 'jid'), error);
      }
    },
  },
  {
    method: 'POST',
    path: '/admin/lineage/unsuspend',
    handle: async (deps, { admin, form }) => {
      try {
        const r = await unsuspendAccount(deps.containment, admin.actor, field(form, 'jid') ?? '');
        await audited(deps, admin, { action: 'account.unsuspended', domain: domainOf(r.jid), subject: r.jid });
        return { status: 303, location: `${lineageLink(r.jid)}&unsuspended=1` };
      } catch (error) {
        return refused(admin, field(form, 'jid'), error);
      }
    },
  },
];
