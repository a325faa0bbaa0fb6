export interface ApiKey {
  /** SHA-256 of the key, base64url: the key itself is never stored. */
  id: string;
  name: string;
  /** Domains the key may manage; `*` for all. */
  domains: string[];
  createdAt: number;
  revokedAt?: number;
  /** Live invites the key may hold; undefined = no quota (admins). */
  maxLiveInvites?: number;
}

export interface ApiKeyStore {
  put(key: ApiKey): Promise<void>;
  get(id: string): Promise<ApiKey | undefined>;
  list(): Promise<ApiKey[]>;
  /** Idempotent; false if no such key. */
  revoke(id: string, now: number): Promise<boolean>;
}
