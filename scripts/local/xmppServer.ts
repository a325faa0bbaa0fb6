/** What every private XMPP server these scripts start has, Prosody (prosody.ts) or ejabberd (ejabberd.ts). */
export interface LocalXmppServer {
  /** What runs, e.g. "Prosody 13.0.1", "ejabberd 24.12". */
  label: string;
  domain: string;
  /** Its c2s, `xmpp://127.0.0.1:<c2sPort>`, with a self-signed certificate (ejabberd's requires STARTTLS). */
  service: string;
  c2sPort: number;
  httpPort: number;
  adminJid: string;
  adminPassword: string;
  /** A second admin of the server, not the provisioning account: how a person administers it. */
  operatorJid: string;
  operatorPassword: string;
  /** PEM of the self-signed certificate, to trust as a CA. */
  caFile: string;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
}
