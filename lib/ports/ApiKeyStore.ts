/**
 * `api`: the HTTP API's admin routes (issue, list, show, revoke).
 * `xmpp-server`: an XMPP server's module (modules/README.md): only the
 * `/xmpp/*` routes, for its own domains.
 */
const ApiKeyKinds = ['api', 'xmpp-server'] as const;
export type ApiKeyKind = (typeof ApiKeyKinds)[number];

export interface ApiKey {
  /** SHA-256 of the key, base64url: the key itself is never stored. */
  id: string;
  name: string;
  kind: ApiKeyKind;
  /** Domains the key may manage; `*` for all. */
  domains: string[];
  createdAt: number;
  revokedAt?: number;
  /** Live invites the key may hold; undefined = no quota (admins). */
  maxLiveInvites?: number;
  /** May issue `reset` invites (set the password of an existing account). Never by default. */
  allowReset?: boolean;
  /** Inviter JIDs the key may name: `any`, or a list. Undefined: `any` for admin keys, none for quota'd keys. */
  inviters?: 'any' | string[];
}

export interface ApiKeyStore {
  put(key: ApiKey): Promise<void>;
  get(id: string): Promise<ApiKey | undefined>;
  list(): Promise<ApiKey[]>;
  /** Idempotent; false if no such key. */
  revoke(id: string, now: number): Promise<boolean>;
}
