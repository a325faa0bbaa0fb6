/**
 * SCRAM client (RFC 5802, RFC 7677) for SCRAM-SHA-1 and SCRAM-SHA-256, with
 * PBKDF2 in Node's native crypto. Unlike the library it replaces, it checks
 * what the server sends: a server that cannot prove it knows the password
 * (wrong `v=`), asks for a cheap hash (`i` below MIN_ITERATIONS) or does not
 * extend our nonce is refused. The cheap-hash check runs before the client
 * proof is computed, so a man in the middle never gets a proof it could crack
 * quickly offline.
 *
 * Channel binding is not offered (gs2 header `n,,`): the TLS stream is what
 * authenticates the server; SCRAM here authenticates us without handing the
 * password over.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const SCRAM_MECHANISMS = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-1': 'sha1' } as const;
export type ScramMechanism = keyof typeof SCRAM_MECHANISMS;

/** Below this, a stolen proof is cheap to brute-force (RFC 7677 §4 asks for 4096 at least). */
export const MIN_ITERATIONS = 4096;
/** Above this, one login would burn seconds of Lambda CPU: treat it as hostile too. */
export const MAX_ITERATIONS = 1_000_000;

/** Why the client refused to go on; `reason` is a stable token, never a secret. */
export class ScramError extends Error {
  public constructor(
    public readonly reason: string,
    message: string
  ) {
    super(message);
    this.name = 'ScramError';
  }
}

/**
 * SASLprep (RFC 4013), the parts that matter for real passwords: non-ASCII
 * spaces become a space, "mapped to nothing" characters vanish, then NFKC.
 * Prosody and ejabberd apply the same before hashing.
 */
export const saslPrep = (s: string): string =>
  s
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu, ' ')
    // biome-ignore lint/suspicious/noMisleadingCharacterClass: each listed mark (variation selectors, joiners) is stripped on its own
    .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu, '')
    .normalize('NFKC');

/** `=` and `,` are the attribute syntax; usernames escape them (RFC 5802 §5.1). */
const escapeName = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

const parseAttributes = (message: string): Map<string, string> => {
  const attrs = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw new ScramError('malformed', 'malformed SCRAM message from the server');
    attrs.set(part[0] as string, part.slice(2));
  }
  return attrs;
};

const GS2_HEADER = 'n,,';

export class ScramClient {
  readonly #hash: 'sha1' | 'sha256';
  readonly #username: string;
  readonly #password: string;
  readonly #nonce: string;
  #clientFirstBare: string | undefined;
  #expectedServerSignature: Buffer | undefined;
  #verified = false;

  public constructor(
    public readonly mechanism: ScramMechanism,
    username: string,
    password: string,
    /** Only tests pass one (RFC vectors); otherwise 144 random bits. */
    nonce: string = randomBytes(18).toString('base64')
  ) {
    this.#hash = SCRAM_MECHANISMS[mechanism];
    this.#username = escapeName(saslPrep(username));
    this.#password = saslPrep(password);
    this.#nonce = nonce;
  }

  /** True once the server proved it knows the password. */
  public get serverVerified(): boolean {
    return this.#verified;
  }

  public clientFirst(): string {
    this.#clientFirstBare = `n=${this.#username},r=${this.#nonce}`;
    return GS2_HEADER + this.#clientFirstBare;
  }

  /** Checks the server-first message, then answers with the proof. */
  public async clientFinal(serverFirst: string): Promise<string> {
    if (!this.#clientFirstBare) throw new ScramError('out-of-order', 'SCRAM client-first was not sent');
    if (this.#expectedServerSignature) throw new ScramError('out-of-order', 'SCRAM server-first received twice');
    const attrs = parseAttributes(serverFirst);
    if (attrs.has('m')) throw new ScramError('malformed', 'the server asks for an unknown SCRAM extension');
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterationsText = attrs.get('i') ?? '';
    if (!nonce.startsWith(this.#nonce) || nonce.length <= this.#nonce.length) {
      throw new ScramError('nonce-mismatch', 'the server nonce does not extend the client nonce');
    }
    if (salt.length === 0) throw new ScramError('malformed', 'the server sent no SCRAM salt');
    if (!/^[1-9][0-9]{0,9}$/.test(iterationsText)) throw new ScramError('malformed', 'the server sent no iteration count');
    const iterations = Number(iterationsText);
    if (iterations < MIN_ITERATIONS) {
      throw new ScramError('iterations-too-low', `the server asks for ${iterations} SCRAM iterations (minimum ${MIN_ITERATIONS})`);
    }
    if (iterations > MAX_ITERATIONS) {
      throw new ScramError('iterations-too-high', `the server asks for ${iterations} SCRAM iterations (maximum ${MAX_ITERATIONS})`);
    }

    const keyLength = this.#hash === 'sha1' ? 20 : 32;
    const salted = await pbkdf2Async(this.#password, salt, iterations, keyLength, this.#hash);
    const hmac = (key: Buffer, data: string) => createHmac(this.#hash, key).update(data).digest();
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash(this.#hash).update(clientKey).digest();
    const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
    this.#expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks `v=`; throws unless the server signature is the one we computed. */
  public verifyServerFinal(serverFinal: string): void {
    if (!this.#expectedServerSignature) throw new ScramError('out-of-order', 'SCRAM server-final before client-final');
    const attrs = parseAttributes(serverFinal);
    if (attrs.has('e')) throw new ScramError('server-error', 'the server reported a SCRAM error');
    const signature = Buffer.from(attrs.get('v') ?? '', 'base64');
    const expected = this.#expectedServerSignature;
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new ScramError('server-signature-mismatch', 'the server signature is wrong: it does not know the password');
    }
    this.#verified = true;
  }
}
