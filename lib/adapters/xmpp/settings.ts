/** One XMPP server's settings (`XMPP_SERVERS`, read by lib/jsonSettings.ts), as the provisioners use them. */
export type XmppServerKind = 'prosody' | 'ejabberd';

export interface XmppServerConfig {
  kind: XmppServerKind;
  /** The XMPP domain this server hosts. */
  domain: string;
  /** Where to connect: `xmpp://host:port` (STARTTLS) or `xmpps://host:port` (direct TLS); Prosody only. */
  service: string;
  /** Admin account used for provisioning. */
  adminJid: string;
  /** Set locally; in the cloud use `adminPasswordParameter` (SSM SecureString name). */
  adminPassword?: string;
  adminPasswordParameter?: string;
  /** ejabberd only: base URL of mod_http_api, e.g. `http://127.0.0.1:5280/api`. */
  apiUrl?: string;
  /** Milliseconds to wait for the server before answering xmpp-unavailable. */
  timeoutMs: number;
  /**
   * The server runs this service's module (modules/README.md), so apps can
   * open invites on it. Default false: the landing page then offers only the
   * web form.
   */
  inAppInvites: boolean;
}
