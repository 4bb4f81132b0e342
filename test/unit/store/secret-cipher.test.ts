import { DEVELOPMENT_SECRET_KEY, SecretCipher, SecretCipherError } from '../../../src/store';

describe('SecretCipher', () => {
  const cipher = SecretCipher.fromSecret('k'.repeat(32));

  it('round-trips, with a fresh IV each time', () => {
    const a = cipher.encrypt('hunter2', 'row-1');
    const b = cipher.encrypt('hunter2', 'row-1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('hunter2');
    expect(a.startsWith('v1.')).toBe(true);
    expect(cipher.decrypt(a, 'row-1')).toBe('hunter2');
    expect(cipher.decrypt(cipher.encrypt('päss wörd ✓', 'x'), 'x')).toBe('päss wörd ✓');
  });

  it.each([
    ['another key', (s: string) => [SecretCipher.fromSecret('other'.repeat(8)), s, 'row-1'] as const],
    ['another row (associated data)', (s: string) => [cipher, s, 'row-2'] as const],
    ['a flipped ciphertext byte', (s: string) => [cipher, s.slice(0, -2) + (s.endsWith('AA') ? 'AB' : 'AA'), 'row-1'] as const],
    ['an unknown version', (s: string) => [cipher, s.replace(/^v1/, 'v9'), 'row-1'] as const],
    ['a truncated value', (s: string) => [cipher, s.split('.').slice(0, 3).join('.'), 'row-1'] as const],
    ['plaintext', () => [cipher, 'hunter2', 'row-1'] as const],
  ])('refuses to open with %s', (_name, setup) => {
    const [c, sealed, context] = setup(cipher.encrypt('hunter2', 'row-1'));
    expect(() => c.decrypt(sealed, context)).toThrow(SecretCipherError);
  });

  it('falls back to the public development key only when no secret is given', () => {
    const dev = SecretCipher.forTrunks(undefined);
    expect(dev.insecure).toBe(true);
    expect(SecretCipher.fromSecret(DEVELOPMENT_SECRET_KEY).decrypt(dev.cipher.encrypt('x', 'c'), 'c')).toBe('x');
    const prod = SecretCipher.forTrunks('p'.repeat(32));
    expect(prod.insecure).toBe(false);
    expect(() => SecretCipher.fromSecret('')).toThrow(TypeError);
  });
});
