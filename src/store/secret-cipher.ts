import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { CodedError } from '../util';

/** A sealed secret could not be opened: wrong key, tampered or truncated text, or unknown format. */
export class SecretCipherError extends CodedError {
  constructor(message: string) {
    super('SECRET_DECRYPT_FAILED', message);
  }
}

/**
 * Key text used when TRUNK_SECRET_KEY is unset outside production. It is in the source code, so it protects
 * nothing; it only keeps development databases readable across restarts. Config refuses it in production.
 */
export const DEVELOPMENT_SECRET_KEY = 'development-only-trunk-secret-key-not-for-production';

const VERSION = 'v1';
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit IVs for GCM.
const TAG_BYTES = 16;
const HKDF_SALT = 'ai-voice-sip-server';
const HKDF_INFO = 'trunk-password aes-256-gcm v1';

/**
 * Authenticated encryption of small secrets at rest (trunk passwords) with AES-256-GCM. The key is derived
 * from an operator secret with HKDF-SHA256 (RFC 5869), so any long random string works as TRUNK_SECRET_KEY.
 * Each value gets a fresh random IV; `context` is bound as associated data (the row id), so a ciphertext
 * copied into another row does not decrypt. Sealed form: `v1.<iv>.<tag>.<data>` in base64url; the version
 * prefix leaves room for key rotation.
 */
export class SecretCipher {
  private constructor(private readonly key: Buffer) {}

  /** Derive the 256-bit key from operator secret text. */
  static fromSecret(secret: string): SecretCipher {
    if (secret.length === 0) throw new TypeError('secret must not be empty');
    return new SecretCipher(Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, HKDF_INFO, 32)));
  }

  /** The cipher for TRUNK_SECRET_KEY, or the development key (insecure: true) when it is unset. */
  static forTrunks(secret: string | undefined): { cipher: SecretCipher; insecure: boolean } {
    return secret === undefined
      ? { cipher: SecretCipher.fromSecret(DEVELOPMENT_SECRET_KEY), insecure: true }
      : { cipher: SecretCipher.fromSecret(secret), insecure: false };
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  /** Open a value sealed by `encrypt` with the same key and context; throws `SecretCipherError` otherwise. */
  decrypt(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretCipherError('not a sealed secret of a known version');
    const iv = Buffer.from(parts[1], 'base64url');
    const tag = Buffer.from(parts[2], 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretCipherError('malformed sealed secret');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(parts[3], 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // GCM authentication failed: wrong key (TRUNK_SECRET_KEY changed?) or modified data.
      throw new SecretCipherError('sealed secret does not authenticate (wrong key or modified data)');
    }
  }
}
