/**
 * SASL (RFC 6120 §6) driven by hand: xmpp.js's SASL ignores the data of
 * <success/>, where SCRAM's server signature travels. SCRAM-SHA-256 >
 * SCRAM-SHA-1 (scram.ts: the server must prove it knows the password,
 * cheap iteration counts are refused) > PLAIN, and PLAIN only inside TLS
 * (or on tolerated plaintext).
 */
import { InviteError } from '../../errors.js';
import { ScramClient, ScramError, type ScramMechanism } from './scram.js';
import { type XmlElement, XmppAuthError, x } from './stanzas.js';

export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

/** Best first; PLAIN hands the password over, so only inside TLS (or on tolerated plaintext). */
export const chooseMechanism = (
  offered: string[],
  stream: { secure: boolean; requireTls: boolean }
): ScramMechanism | 'PLAIN' | undefined => {
  if (offered.includes('SCRAM-SHA-256')) return 'SCRAM-SHA-256';
  if (offered.includes('SCRAM-SHA-1')) return 'SCRAM-SHA-1';
  if (offered.includes('PLAIN') && (stream.secure || !stream.requireTls)) return 'PLAIN';
  return undefined;
};

/** Next SASL element from the server, failing on a timeout or a dropped stream. */
const saslReader = (entity: any, timeoutMs: number) => {
  const queue: XmlElement[] = [];
  let waiting: { resolve: (el: XmlElement) => void; reject: (e: Error) => void } | undefined;
  const onNonza = (el: XmlElement) => {
    if (el.attrs.xmlns !== NS_SASL) return;
    const w = waiting;
    waiting = undefined;
    if (w) w.resolve(el);
    else queue.push(el);
  };
  const onGone = () => {
    const w = waiting;
    waiting = undefined;
    w?.reject(new InviteError('xmpp-unavailable', 'the XMPP server closed the connection during login', { retryAfter: 5 }));
  };
  entity.on('nonza', onNonza);
  entity.on('disconnect', onGone);
  entity.on('error', onGone);
  return {
    next: (): Promise<XmlElement> => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = undefined;
          reject(new InviteError('xmpp-unavailable', 'the XMPP server did not answer the login in time', { retryAfter: 5 }));
        }, timeoutMs);
        waiting = {
          resolve: (el) => {
            clearTimeout(timer);
            resolve(el);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
    },
    close: () => {
      onGone();
      entity.removeListener('nonza', onNonza);
      entity.removeListener('disconnect', onGone);
      entity.removeListener('error', onGone);
    },
  };
};

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s.trim(), 'base64').toString('utf8');

/** A SASL <failure/> (or any unexpected answer) as an internal error. */
const refused = (el: XmlElement): XmppAuthError => {
  if (el.name !== 'failure') return new XmppAuthError('unexpected-answer', `unexpected SASL <${el.name}/> from the XMPP server`);
  const condition = el.children.find((c): c is XmlElement => typeof c !== 'string' && c.name !== 'text')?.name;
  const safe = condition && /^[a-z-]{1,64}$/.test(condition) ? condition : 'undefined-condition';
  return new XmppAuthError(safe, `the XMPP server refused the login (${safe})`);
};

/**
 * RFC 6120 §6 driven by hand: xmpp.js's SASL ignores the data of <success/>,
 * where SCRAM's server signature travels.
 */
export const authenticate = async (
  entity: any,
  mechanism: ScramMechanism | 'PLAIN',
  username: string,
  password: string,
  timeoutMs: number
): Promise<void> => {
  const reader = saslReader(entity, timeoutMs);
  try {
    if (mechanism === 'PLAIN') {
      await entity.send(x('auth', { xmlns: NS_SASL, mechanism }, b64(`\0${username}\0${password}`)));
      const answer = await reader.next();
      if (answer.name !== 'success') throw refused(answer);
      return;
    }
    const scram = new ScramClient(mechanism, username, password);
    await entity.send(x('auth', { xmlns: NS_SASL, mechanism }, b64(scram.clientFirst())));
    let answer = await reader.next();
    if (answer.name !== 'challenge') throw refused(answer);
    let final: string;
    try {
      final = await scram.clientFinal(unb64(answer.text()));
    } catch (e) {
      // Tell the server we give up (RFC 6120 §6.4.5); nothing derived from the password was sent.
      await entity.send(x('abort', { xmlns: NS_SASL })).catch(() => undefined);
      throw e;
    }
    await entity.send(x('response', { xmlns: NS_SASL }, b64(final)));
    answer = await reader.next();
    // Some servers send server-final as one more challenge (RFC 6120 §6.3.10).
    if (answer.name === 'challenge') {
      scram.verifyServerFinal(unb64(answer.text()));
      await entity.send(x('response', { xmlns: NS_SASL }));
      answer = await reader.next();
    }
    if (answer.name !== 'success') throw refused(answer);
    const data = answer.text().trim();
    if (data && data !== '=') scram.verifyServerFinal(unb64(data));
    // <success/> without a signature proves nothing about the server.
    if (!scram.serverVerified) throw new XmppAuthError('server-signature-missing', 'the XMPP server did not prove it knows the password');
  } catch (e) {
    if (e instanceof ScramError) throw new XmppAuthError(e.reason, e.message);
    throw e;
  } finally {
    reader.close();
  }
};
