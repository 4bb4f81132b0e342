import { decodeBase64 } from '../../../src/bridge/json-fields';

describe('decodeBase64', () => {
  it('refuses what is not standard base64 (RFC 4648 §4) instead of skipping characters', () => {
    for (const bad of ['ab$d', 'a', 'ab-_', 'AA==AA==', ' QUJD']) expect(decodeBase64(bad)).toBeUndefined();
    // Missing padding is tolerated (a length that cannot be base64 is not).
    expect(decodeBase64('QUI')?.toString()).toBe('AB');
    expect(decodeBase64('QUJD')?.toString()).toBe('ABC');
    expect(decodeBase64('QUI=')?.toString()).toBe('AB');
    expect(decodeBase64('')?.length).toBe(0);
  });

  it('decodes into a reused scratch buffer (a view valid until the next call), growing it as needed', () => {
    const scratch = { buf: Buffer.alloc(4) };
    const a = decodeBase64(Buffer.from('first chunk').toString('base64'), scratch)!;
    expect(a.toString()).toBe('first chunk');
    expect(a.buffer).toBe(scratch.buf.buffer);
    const grown = scratch.buf;
    const b = decodeBase64(Buffer.from('second').toString('base64'), scratch)!;
    expect(b.toString()).toBe('second');
    expect(scratch.buf).toBe(grown);
    expect(b.buffer).toBe(grown.buffer);
    expect(decodeBase64('a$==', scratch)).toBeUndefined();
  });

  it('gives a large payload (a whole WAV) its own buffer and leaves the scratch small', () => {
    const scratch = { buf: Buffer.alloc(16) };
    const big = Buffer.alloc(100_000, 7);
    const out = decodeBase64(big.toString('base64'), scratch)!;
    expect(out.equals(big)).toBe(true);
    expect(out.buffer).not.toBe(scratch.buf.buffer);
    expect(scratch.buf.length).toBe(16);
  });
});
