import { GSM7_PART, UCS2_PART, countSegments, isGsm7, smsEncodingOf, splitSegments } from '../../../src/sms';

describe('countSegments: GSM-7 (3GPP TS 23.038)', () => {
  it('counts basic-alphabet text one septet per character', () => {
    expect(countSegments('Hello from SIP server!')).toEqual({ encoding: 'GSM-7', segments: 1, units: 22, perSegment: 160, remaining: 138 });
  });

  it('accepts the whole basic table including accented letters, Greek capitals and line breaks', () => {
    const text = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà';
    expect(isGsm7(text)).toBe(true);
    expect(countSegments(text).units).toBe(text.length);
  });

  it.each(['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\f'])('counts extension character %j as two septets', (ch) => {
    const info = countSegments(`a${ch}b`);
    expect(info.encoding).toBe('GSM-7');
    expect(info.units).toBe(4);
  });

  it('keeps 160 septets in one segment and splits 161 into two', () => {
    expect(countSegments('x'.repeat(160))).toMatchObject({ segments: 1, units: 160, remaining: 0 });
    expect(countSegments('x'.repeat(161))).toMatchObject({ segments: 2, units: 161, perSegment: GSM7_PART, remaining: 153 * 2 - 161 });
  });

  it('counts 159 plain characters plus one extension character as 161 septets: two segments', () => {
    expect(countSegments('x'.repeat(159) + '€')).toMatchObject({ segments: 2, units: 161 });
    expect(countSegments('x'.repeat(158) + '€')).toMatchObject({ segments: 1, units: 160 });
  });

  it('uses 153 septets per part: 306 fit two parts, 307 need three', () => {
    expect(countSegments('y'.repeat(306)).segments).toBe(2);
    expect(countSegments('y'.repeat(307)).segments).toBe(3);
  });

  it('never splits an escape sequence: an extension character straddling a part boundary moves to the next part', () => {
    // 152 plain + '{' (2 septets) would end at septet 154 > 153: the brace starts part 2.
    const text = 'a'.repeat(152) + '{' + 'b'.repeat(150);
    const parts = splitSegments(text);
    expect(parts[0]).toBe('a'.repeat(152));
    expect(parts[1].startsWith('{')).toBe(true);
    expect(parts.join('')).toBe(text);
    expect(countSegments(text).segments).toBe(parts.length);
  });
});

describe('countSegments: UCS-2', () => {
  it('switches the whole text to UCS-2 for a single character outside the GSM alphabet', () => {
    expect(countSegments('Hello ç')).toMatchObject({ encoding: 'UCS-2', segments: 1, units: 7, perSegment: 70 });
    expect(smsEncodingOf('Привет')).toBe('UCS-2');
  });

  it('keeps 70 units in one segment and splits 71 into two of 67', () => {
    expect(countSegments('ж'.repeat(70))).toMatchObject({ segments: 1, units: 70, remaining: 0 });
    expect(countSegments('ж'.repeat(71))).toMatchObject({ segments: 2, perSegment: UCS2_PART, remaining: 67 * 2 - 71 });
    expect(countSegments('ж'.repeat(134)).segments).toBe(2);
    expect(countSegments('ж'.repeat(135)).segments).toBe(3);
  });

  it('counts a character outside the BMP (emoji, surrogate pair) as two units', () => {
    expect(countSegments('😀')).toMatchObject({ encoding: 'UCS-2', units: 2 });
    expect(countSegments('😀'.repeat(35)).segments).toBe(1);
    expect(countSegments('😀'.repeat(35) + 'a').segments).toBe(2);
  });

  it('never splits a surrogate pair across parts', () => {
    const text = 'a'.repeat(66) + '😀' + 'b'.repeat(10);
    const parts = splitSegments(text);
    expect(parts).toEqual(['a'.repeat(66), '😀' + 'b'.repeat(10)]);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(UCS2_PART);
  });

  it('treats a lone surrogate as one unit without crashing', () => {
    expect(countSegments('\ud83d' + 'x')).toMatchObject({ encoding: 'UCS-2', units: 2 });
  });
});

describe('splitSegments', () => {
  it('returns the text itself when it fits one message', () => {
    expect(splitSegments('short')).toEqual(['short']);
    expect(splitSegments('')).toEqual(['']);
  });

  it('splits GSM-7 text into 153-septet parts that join back to the text', () => {
    const text = 'z'.repeat(400);
    const parts = splitSegments(text);
    expect(parts.map((p) => p.length)).toEqual([153, 153, 94]);
    expect(parts.join('')).toBe(text);
  });

  it('reports an empty text as one segment', () => {
    expect(countSegments('')).toMatchObject({ segments: 1, units: 0, encoding: 'GSM-7' });
  });
});
