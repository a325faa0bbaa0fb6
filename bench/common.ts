/**
 * What every part of the bench shares: the run's sizes, the stack it runs
 * against (Ctx), the log, and the two ways of issuing an invite (ours over
 * HTTP, Prosody's mod_invites_api).
 */
import { randomBytes } from 'node:crypto';
import type { ProsodyProvisioner } from '../lib/adapters/xmpp/ProsodyProvisioner.js';
import type { LocalProsody } from '../scripts/local/prosody.js';
import type { Stack } from '../scripts/local/stack.js';
import { http, type Summary } from './lib/stats.js';

export const CLIENTS = 32;
export const REDEEM_SAMPLES = 20;
export const IN_APP_SAMPLES = 20;
export const COLD_SAMPLES = 5;
export const IMPORT_SAMPLES = 5;
export const ISSUE_SECONDS = 4;
export const CHECK_REQUESTS = 2000;
export const SEED = 10_000;
export const PASSWORD = 'bench horse battery staple';

const t0 = Date.now();
/** A line of the run's log; a step (starting with "-") carries the seconds since the start. */
export const log = (line = '') => console.log(line.startsWith('-') ? `${line}  [${Math.round((Date.now() - t0) / 1000)} s]` : line);
export const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
export const uniq = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

export interface Ctx {
  stack: Stack;
  prosody: LocalProsody;
  baseUrl: string;
  prosodyKey: string;
  inviter: string;
  admin: ProsodyProvisioner;
}

export const ourIssue = async (ctx: Ctx, body: Record<string, unknown> = {}) => {
  const res = await http(`${ctx.baseUrl}/invites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`issue: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as { token: string; id: string };
};

/** mod_invites_api: `GET /invites_api?key=...` on Prosody's HTTP port, Host localhost. */
export const prosodyIssue = async (ctx: Ctx) => {
  const res = await http(`http://localhost:${ctx.prosody.httpPort}/invites_api?key=${encodeURIComponent(ctx.prosodyKey)}`);
  if (res.status !== 201) throw new Error(`invites_api: ${res.status}`);
  const token = /preauth=([^;&]+)/.exec(String(res.headers.location))?.[1];
  if (!token) throw new Error(`invites_api: no token in ${res.headers.location}`);
  return token;
};

export const ms = (s: Summary) => `${s.median} / ${s.p95}`;
export const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
