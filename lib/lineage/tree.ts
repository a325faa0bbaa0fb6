import type { LineageView } from './showLineage.js';

const describe = (v: LineageView): string => {
  const facts = [
    v.via,
    v.joinedAt?.slice(0, 10),
    v.status === 'active'
      ? undefined
      : `${v.status}${v.deletedAt ? ` ${v.deletedAt.slice(0, 10)}` : v.suspendedAt ? ` ${v.suspendedAt.slice(0, 10)}` : ''}`,
  ].filter(Boolean);
  return facts.length > 0 ? `${v.jid}  (${facts.join(', ')})` : v.jid;
};

/** A lineage answer as the lines of a tree (`invites-admin lineage`), a page's cursor as a last `…` line. */
export const lineageTree = (root: LineageView): string[] => {
  const lines = [`${describe(root)}  invited by ${root.invitedBy ?? root.source}${root.inviteId ? ` with invite ${root.inviteId}` : ''}`];
  const walk = (node: LineageView, prefix: string) => {
    const items = node.invitees?.items ?? [];
    const more = node.invitees?.cursor ? 1 : 0;
    items.forEach((child, i) => {
      const last = i === items.length - 1 && !more;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${describe(child)}`);
      walk(child, `${prefix}${last ? '    ' : '│   '}`);
    });
    if (more) lines.push(`${prefix}└── … more (cursor ${node.invitees?.cursor})`);
  };
  walk(root, '');
  return lines;
};
