import { alaw, mulaw } from 'alawmulaw';
import {
  ALAW_TO_MULAW_TABLE,
  MULAW_TO_ALAW_TABLE,
  PCMA,
  PCMU,
  alawToMulawInto,
  g711CodecByName,
  g711CodecByPayloadType,
  mulawToAlawInto,
} from '../../../src/dsp';

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
const ALL_PCM = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe.each([
  ['PCMU', PCMU, mulaw],
  ['PCMA', PCMA, alaw],
] as const)('%s', (_name, codec, reference) => {
  test('decodes every code exactly like alawmulaw', () => {
    const out = new Int16Array(256);
    expect(codec.decodeInto(ALL_CODES, out)).toBe(256);
    expect(Array.from(out)).toEqual(Array.from(reference.decode(ALL_CODES)));
    for (let c = 0; c < 256; c++) expect(codec.decodeSample(c)).toBe(reference.decodeSample(c) + 0); // + 0: -0 -> 0
  });

  test('encodes every PCM16 value exactly like alawmulaw', () => {
    const out = new Uint8Array(65536);
    expect(codec.encodeInto(ALL_PCM, out)).toBe(65536);
    const expected = reference.encode(ALL_PCM);
    let mismatches = 0;
    for (let i = 0; i < 65536; i++) if (out[i] !== expected[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  test('code -> PCM -> code is the identity (except mu-law negative zero, which becomes positive zero)', () => {
    const pcm = codec.decode(ALL_CODES);
    const back = codec.encode(pcm);
    const changed: number[] = [];
    for (let c = 0; c < 256; c++) if (back[c] !== c) changed.push(c);
    if (codec === PCMU) {
      expect(changed).toEqual([0x7f]);
      expect(back[0x7f]).toBe(0xff);
    } else {
      expect(changed).toEqual([]);
    }
  });

  test('PCM -> code -> PCM stays within half a quantisation step of its segment', () => {
    const decoded = codec.decode(codec.encode(ALL_PCM));
    for (let i = 0; i < 65536; i += 1) {
      const s = ALL_PCM[i];
      const err = Math.abs(decoded[i] - s);
      // Steps double per segment: 1/32 of the magnitude is an upper bound of half a step above the first segments.
      const bound = Math.max(codec === PCMU ? 4 : 8, Math.abs(s) / 16 + 1);
      if (Math.abs(s) < 32000 && err > bound) throw new Error(`${codec.encodingName} ${s} -> ${decoded[i]}`);
    }
  });

  test('silence code decodes to the smallest magnitude and encodeSample clamps out-of-range input', () => {
    // A-law has no zero level: 0xD5 is +8 (one half step).
    expect(Math.abs(codec.decodeSample(codec.silenceCode))).toBeLessThanOrEqual(8);
    expect(codec.encodeSample(0)).toBe(codec.silenceCode);
    expect(codec.encodeSample(40000)).toBe(codec.encodeSample(32767));
    expect(codec.encodeSample(-40000)).toBe(codec.encodeSample(-32768));
    expect(codec.encodeSample(12.7)).toBe(codec.encodeSample(12));
  });

  test('decodeInto / encodeInto stop at the shorter array and touch nothing beyond it', () => {
    const dst = new Int16Array(10).fill(7);
    expect(codec.decodeInto(ALL_CODES.subarray(0, 4), dst)).toBe(4);
    expect(Array.from(dst.subarray(4))).toEqual([7, 7, 7, 7, 7, 7]);
    const enc = new Uint8Array(3);
    expect(codec.encodeInto(ALL_PCM, enc)).toBe(3);
  });
});

describe('G.711 transcoding', () => {
  test('mu-law -> A-law table equals encoding the decoded sample, for every code', () => {
    for (let c = 0; c < 256; c++) {
      expect(MULAW_TO_ALAW_TABLE[c]).toBe(alaw.encodeSample(mulaw.decodeSample(c)) & 0xff);
      expect(ALAW_TO_MULAW_TABLE[c]).toBe(mulaw.encodeSample(alaw.decodeSample(c)) & 0xff);
    }
  });

  test('transcodes in place and back with little change', () => {
    const buf = ALL_CODES.slice();
    expect(mulawToAlawInto(buf, buf)).toBe(256);
    expect(Array.from(buf)).toEqual(Array.from(MULAW_TO_ALAW_TABLE));
    alawToMulawInto(buf, buf);
    // mu-law -> A-law -> mu-law: the value moves by at most one A-law step.
    for (let c = 0; c < 256; c++) {
      const a = mulaw.decodeSample(c);
      const b = mulaw.decodeSample(buf[c]);
      expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.max(16, Math.abs(a) / 8));
    }
  });
});

describe('G.711 codec lookup', () => {
  test('by RTP encoding name and static payload type (RFC 3551)', () => {
    expect(g711CodecByName('pcmu')).toBe(PCMU);
    expect(g711CodecByName('PCMA')).toBe(PCMA);
    expect(g711CodecByName('G722')).toBeUndefined();
    expect(g711CodecByPayloadType(0)).toBe(PCMU);
    expect(g711CodecByPayloadType(8)).toBe(PCMA);
    expect(g711CodecByPayloadType(9)).toBeUndefined();
    expect(PCMU.payloadType).toBe(0);
    expect(PCMA.payloadType).toBe(8);
    expect(PCMU.silenceCode).toBe(0xff);
    expect(PCMA.silenceCode).toBe(0xd5);
  });
});
