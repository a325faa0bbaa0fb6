/**
 * The one place that decides when plaintext to an XMPP server (or to
 * ejabberd's HTTP API) is acceptable, and which certificates are trusted.
 * Plaintext is tolerated only on loopback, where nobody sits on the path.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** 127.0.0.0/8, ::1 and `localhost`; brackets of a URL's IPv6 host are accepted. */
export const isLoopback = (host: string): boolean => {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
};

/** Host part of `xmpp://host:port`, `xmpps://host:port` or an http(s) URL. */
export const hostOf = (service: string): string => new URL(service.replace(/^xmpps?:/, 'http:')).hostname;

/** TLS is mandatory for every server not on loopback. */
export const tlsRequiredFor = (host: string): boolean => !isLoopback(host);

/** Why an ejabberd API URL is refused, or undefined when it is acceptable. */
export const apiUrlProblem = (apiUrl: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopback(url.hostname) ? undefined : 'uses http:// to a host that is not loopback (use https://)';
  }
  return 'must be an http(s) URL';
};

/**
 * Trust anchors: the system CAs plus the configured PEM file. Node's `ca`
 * option replaces the system store, so both are passed together.
 */
export const trustedCas = (caFile: string | undefined): string[] => {
  if (!caFile) return [...rootCertificates];
  return [...rootCertificates, readFileSync(caFile, 'utf8')];
};

const contexts = new Map<string, SecureContext>();

/**
 * A TLS context trusting `trustedCas(caFile)`, made once per process: parsing
 * the ~150 certificates costs ~11 ms (measured), which every connection (the
 * admin's, each user session of a roster link) paid again. Read at the first
 * connection, like the file was: a CA file replaced later needs a new container.
 */
export const trustedContext = (caFile: string | undefined): SecureContext => {
  const key = caFile ?? '';
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext({ ca: trustedCas(caFile) });
    contexts.set(key, context);
  }
  return context;
};
