import type { XmppServerConfig } from './settings.js';
import { InviteError } from '../../errors.js';
import type { ProvisionerRegistry, XmppProvisioner } from '../../ports/XmppProvisioner.js';
import { secretResolver } from '../aws/secrets.js';

/**
 * One provisioner (and one warm admin connection) per configured domain, made
 * on first use. Adapters are imported lazily so a function that never talks
 * XMPP never loads xmpp.js.
 */
export class ProvisionerRegistryFromConfig implements ProvisionerRegistry {
  readonly #servers: Record<string, XmppServerConfig>;
  readonly #made = new Map<string, Promise<XmppProvisioner>>();
  readonly #tlsCaFile: string | undefined;

  public constructor(servers: Record<string, XmppServerConfig>, options: { tlsCaFile?: string } = {}) {
    this.#servers = servers;
    this.#tlsCaFile = options.tlsCaFile;
  }

  public forDomain(domain: string): Promise<XmppProvisioner> {
    let made = this.#made.get(domain);
    if (!made) {
      made = this.#make(domain);
      made.catch(() => this.#made.delete(domain));
      this.#made.set(domain, made);
    }
    return made;
  }

  /**
   * Starts, without waiting, what the first call for `domain` would wait for:
   * loading the adapter and logging its admin connection in (Prosody). A
   * failure is left for that call to meet, and retry; nothing is provisioned.
   */
  public warmUp(domain: string): void {
    this.forDomain(domain)
      .then((provisioner) => provisioner.connect?.())
      .catch(() => undefined);
  }

  public async close(): Promise<void> {
    const all = [...this.#made.values()];
    this.#made.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }

  async #make(domain: string): Promise<XmppProvisioner> {
    const server = this.#servers[domain];
    if (!server) {
      throw new InviteError('xmpp-unavailable', `no XMPP server is configured for ${domain}`, { retryAfter: 300 });
    }
    const password = secretResolver(server.adminPassword, server.adminPasswordParameter);
    if (server.kind === 'prosody') {
      const { ProsodyProvisioner } = await import('./ProsodyProvisioner.js');
      return ProsodyProvisioner.at({ ...server, domain, password, tlsCaFile: this.#tlsCaFile });
    }
    const { EjabberdProvisioner } = await import('./EjabberdProvisioner.js');
    return new EjabberdProvisioner({ server, password, tlsCaFile: this.#tlsCaFile });
  }
}
