/** TLS for the c2s client: xmpp.js's direct TLS with our checks, and STARTTLS that resolves only once verified. */
import type { ConnectionOptions } from 'node:tls';
import ConnectionTLS from '@xmpp/tls/lib/Connection.js';
import TlsSocket from '@xmpp/tls/lib/Socket.js';
import { InviteError } from '../../errors.js';

/** The direct-TLS transport (`xmpps://`) of xmpp.js, with our certificate checks. */
export const verifiedDirectTls = (tlsOptions: ConnectionOptions) =>
  class VerifiedDirectTls extends ConnectionTLS {
    public socketParameters(service: string) {
      const params = super.socketParameters(service);
      return params && { ...params, ...tlsOptions };
    }
  };

/** STARTTLS: wraps the plaintext socket; resolves only once the certificate is verified. */
export const upgradeToTls = (plain: unknown, tlsOptions: ConnectionOptions, timeoutMs: number): Promise<unknown> => {
  const socket = new TlsSocket();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.socket?.destroy();
      reject(new InviteError('xmpp-unavailable', 'the TLS handshake with the XMPP server timed out', { retryAfter: 5 }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (cause: { code?: string }) => {
      clearTimeout(timer);
      // The plaintext socket must not carry anything more (not even our stream close).
      socket.socket?.destroy();
      (plain as { destroy?: () => void }).destroy?.();
      reject(
        new InviteError('xmpp-unavailable', `TLS with the XMPP server failed (${cause?.code ?? 'handshake error'})`, {
          retryAfter: 30,
          cause,
        })
      );
    });
    socket.connect({ ...tlsOptions, socket: plain });
  });
};
