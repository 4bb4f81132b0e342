import fc from 'fast-check';
import { JambonzCodec, NativeCodec, TwilioCodec, type ProtocolCodec } from '../../../src/bridge';
import { PCMU } from '../../../src/dsp';
import { decodeBase64Bytes, FieldKind, JsonFieldScanner } from '../../../src/bridge/json-scan';
import { writeEpochSeconds, writeUint } from '../../../src/bridge/wire-bytes';
import { FakeCallPort, numberedFrame } from './fake-call-port';

const info = new FakeCallPort().info;

/** A decode result with its audio bytes copied (they view a reused buffer). */
function settled(r: ReturnType<ProtocolCodec['decodeText']>): unknown {
  if (r.ok && r.command.kind === 'audio') return { ...r, command: { ...r.command, bytes: [...r.command.bytes] } };
  return r;
}

/** decodeTextFrame of the text's UTF-8 bytes must give exactly what decodeText gives. */
function expectSameAsGeneralPath(codec: ProtocolCodec, text: string): void {
  const general = settled(codec.decodeText(text));
  const fast = settled(codec.decodeTextFrame(Buffer.from(text, 'utf8')));
  expect({ text, result: fast }).toEqual({ text, result: general });
}

const pcm = Buffer.from(Int16Array.from({ length: 160 }, (_, i) => (i * 397) % 30000 - 15000).buffer);
const b64 = pcm.toString('base64');
const id = JSON.stringify(info.callId);

const NATIVE_CASES = [
  // the common shapes
  `{"type":"audio_data","data":{"call_id":${id},"audio":"${b64}"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}"}}`,
  `{"data":{"audio":"${b64}","call_id":${id}},"type":"audio_data"}`,
  `{"type":"audio_data","call_id":${id},"audio":"${b64}"}`,
  ` {\n\t"type" : "audio_data" ,\r\n "data" : { "call_id" : ${id} , "audio" : "${b64}" } } \n`,
  `{"type":"audio_data","data":{"audio":"${b64}","encoding":"pcm16","sample_rate":16000,"seq":12,"timestamp":1700000000.5}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","encoding":"mulaw"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","encoding":"L16","sample_rate":8000}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":8e3}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":-0}}`,
  `{"type":"audio_data","data":{"audio":"","call_id":${id}}}`,
  `{"type":"audio_data","data":{"audio":"QQ=="}}`,
  `{"type":"audio_data","data":{"audio":"QUI="}}`,
  `{"type":"audio_data","data":{"audio":"QR=="}}`,
  `{"type":"audio_data","data":{},"audio":"${b64}"}`,
  `{"type":"audio_data","data":{"audio":"${b64}"},"extra":"x","n":1}`,
  // field precedence and duplicates
  `{"type":"audio_data","call_id":"other","data":{"call_id":${id},"audio":"${b64}"}}`,
  `{"type":"audio_data","call_id":${id},"data":{"call_id":"other","audio":"${b64}"}}`,
  `{"type":"audio_data","data":{"audio":"QQ==","audio":"${b64}"}}`,
  `{"type":"audio_data","audio":"QQ==","data":{"audio":"${b64}"}}`,
  `{"type":"audio_data","audio":"not base64!","data":{"audio":"${b64}"}}`,
  `{"type":"audio_data","data":{"audio":"QQ=="},"data":{"audio":"${b64}"}}`,
  `{"type":"clear","type":"audio_data","data":{"audio":"${b64}"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":16000,"sample_rate":"8000"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","call_id":7}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","data":{"x":1}}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","data":"x"}}`,
  // errors and everything outside the subset
  `{"type":"audio_data","data":{"call_id":"someone-else","audio":"${b64}"}}`,
  `{"type":"audio_data","data":{"audio":"${b64.slice(0, -1)}"}}`,
  `{"type":"audio_data","data":{"audio":"${b64.slice(0, -2)}"}}`,
  `{"type":"audio_data","data":{"audio":"QQ"}}`,
  `{"type":"audio_data","data":{"audio":"Q==="}}`,
  `{"type":"audio_data","data":{"audio":"QQ=A"}}`,
  `{"type":"audio_data","data":{"audio":"Q\\u0051=="}}`,
  `{"type":"audio_data","data":{"audio":"QQ\\"=="}}`,
  `{"type":"audio_data","data":{"audio":"a b="}}`,
  `{"type":"audio_data","data":{"audio":12}}`,
  `{"type":"audio_data","data":{"audio":null}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","encoding":"opus"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":12345}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":"16000"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":016000}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":1.}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","sample_rate":-}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","flag":true}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","list":[1,2]}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","note":"caf\u00e9"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","note":"tab\there"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","note":"esc\\nape"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}","note":"bad\\qescape"}}`,
  `{"type":"audio_\\u0064ata","data":{"audio":"${b64}"}}`,
  `{"type":"audio_data","d\\u0061ta":{"audio":"${b64}"}}`,
  `{"type":"audio_data","data":{"audio":"${b64}"}} x`,
  `{"type":"audio_data","data":{"audio":"${b64}"}`,
  `{"type":"audio_data","data":{"audio":"${b64}",}}`,
  `{"type":"audio_data" "data":{"audio":"${b64}"}}`,
  `{"type":"audio_data","data":"${b64}"}`,
  `{"type":"audio_data","data":[]}`,
  `{"type":"audio_data"}`,
  `{"type":7,"data":{"audio":"${b64}"}}`,
  `{"type":"clear"}`,
  `{"type":"mark","data":{"name":"m1"}}`,
  `[1,2]`,
  `"audio_data"`,
  ``,
  `{}`,
  `not json`,
];

describe('native audio_data read from the frame bytes', () => {
  it.each(NATIVE_CASES.map((t) => [t.length > 90 ? t.slice(0, 90) + '...' : t, t]))('same result as JSON.parse: %s', (_label, text) => {
    expectSameAsGeneralPath(new NativeCodec(info), text);
    expectSameAsGeneralPath(new NativeCodec(info, 16000), text);
  });

  it('the common message takes the fast path (no JSON.parse)', () => {
    const c = new NativeCodec(info);
    const spy = jest.spyOn(JSON, 'parse');
    try {
      const r = c.decodeTextFrame(Buffer.from(`{"type":"audio_data","data":{"call_id":${id},"audio":"${b64}"}}`));
      expect(r.ok && r.command.kind === 'audio' && Buffer.compare(r.command.bytes, pcm)).toBe(0);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('decodes what encodeAudio produced (the mock AI echoes it back)', () => {
    const c = new NativeCodec(info);
    const frame = numberedFrame(4);
    const m = Buffer.from(c.encodeAudio(frame, 3, 1_700_000_000_020) as Buffer);
    const r = c.decodeTextFrame(m);
    expect(r.ok && r.command.kind === 'audio' && [...new Int16Array(r.command.bytes.buffer.slice(r.command.bytes.byteOffset, r.command.bytes.byteOffset + 320))]).toEqual([...frame]);
  });
});

const TWILIO_PAYLOAD = Buffer.alloc(160, 0x55).toString('base64');

describe('Twilio media read from the frame bytes', () => {
  const c = new TwilioCodec(info);
  const sid = JSON.stringify(c.streamSid);
  const cases = [
    `{"event":"media","streamSid":${sid},"media":{"payload":"${TWILIO_PAYLOAD}"}}`,
    `{"event":"media","media":{"track":"outbound","payload":"${TWILIO_PAYLOAD}"}}`,
    `{ "media" : { "payload" : "${TWILIO_PAYLOAD}" } , "event" : "media" }`,
    `{"event":"media","media":{"payload":""}}`,
    `{"event":"media","payload":"QQ==","media":{"payload":"${TWILIO_PAYLOAD}"}}`,
    `{"event":"media","media":{"payload":"QQ=="},"media":{"payload":"${TWILIO_PAYLOAD}"}}`,
    `{"event":"media","media":{"payload":"${TWILIO_PAYLOAD.slice(1)}"}}`,
    `{"event":"media","media":{"payload":"QQ"}}`,
    `{"event":"media","media":{"payload":7}}`,
    `{"event":"media","media":"${TWILIO_PAYLOAD}"}`,
    `{"event":"media"}`,
    `{"event":"media","media":{"payload":"${TWILIO_PAYLOAD}"},"x":null}`,
    `{"event":"mark","streamSid":${sid},"mark":{"name":"m"}}`,
    `{"event":"clear","streamSid":${sid}}`,
    `{"event":"media","media":{"payload":"${TWILIO_PAYLOAD}"}}}`,
    `nope`,
  ];
  it.each(cases.map((t) => [t.length > 90 ? t.slice(0, 90) + '...' : t, t]))('same result as JSON.parse: %s', (_label, text) => {
    expectSameAsGeneralPath(c, text);
  });
});

describe('jambonz text frames', () => {
  it('decodeTextFrame is decodeText of the text', () => {
    const c = new JambonzCodec(info);
    for (const t of ['{"type":"killAudio"}', '{"type":"mark","data":{"name":"a"}}', 'x']) expectSameAsGeneralPath(c, t);
  });
});

describe('JsonFieldScanner', () => {
  it('reports strings as byte ranges and numbers parsed, top level and nested', () => {
    const s = new JsonFieldScanner(['a', 'n'], 'd');
    const buf = Buffer.from('{"a":"xy","d":{"n":-1.5e2,"a":""},"n":3}');
    expect(s.scan(buf)).toBe(true);
    expect(s.kind[0]).toBe(FieldKind.String);
    expect(buf.toString('latin1', s.start[0], s.end[0])).toBe('xy');
    expect(s.kind[1]).toBe(FieldKind.Number);
    expect(s.num[1]).toBe(3);
    expect(s.nestedSeen).toBe(true);
    expect(s.num[3]).toBe(-150);
    expect(s.end[2] - s.start[2]).toBe(0);
  });

  it('forgets the previous message', () => {
    const s = new JsonFieldScanner(['a'], 'd');
    expect(s.scan(Buffer.from('{"a":"1","d":{}}'))).toBe(true);
    expect(s.scan(Buffer.from('{}'))).toBe(true);
    expect(s.kind[0]).toBe(FieldKind.Absent);
    expect(s.nestedSeen).toBe(false);
  });
});

describe('decodeBase64Bytes', () => {
  it('matches Buffer for canonical padded base64 of every length and refuses the rest', () => {
    const dst = Buffer.alloc(64);
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 73 + n) & 255));
      const text = Buffer.from(bytes.toString('base64'), 'latin1');
      const k = decodeBase64Bytes(text, 0, text.length, dst);
      expect(dst.subarray(0, k)).toEqual(bytes);
    }
    for (const bad of ['QQ', 'QUJ', 'Q===', '=QQQ', 'QQ=Q', 'QQ-_', 'QQ\nQ']) {
      const text = Buffer.from(bad, 'latin1');
      expect(decodeBase64Bytes(text, 0, text.length, dst)).toBe(-1);
    }
    expect(decodeBase64Bytes(Buffer.from('QUJD'), 0, 4, Buffer.alloc(2))).toBe(-1);
  });
});

describe('wire-bytes', () => {
  it('writeUint prints as String()', () => {
    const buf = Buffer.alloc(40);
    for (const n of [0, 1, 9, 10, 99, 100, 12345, 2 ** 31, 2 ** 32 + 7, 1_700_000_000_123, Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, -3]) {
      expect(buf.toString('latin1', 0, writeUint(buf, 0, n))).toBe(String(n));
    }
  });

  it('writeEpochSeconds prints as (Math.round(ms) / 1000).toFixed(3)', () => {
    const buf = Buffer.alloc(40);
    const values = [0, 1, 999, 1000, 1001, 1_634_567_890_123, 1_700_000_000_000.4, 1_700_000_000_999.6, 5.5, -1200];
    for (let i = 0; i < 1000; i++) values.push(1_600_000_000_000 + i * 7919.37);
    for (const ms of values) {
      expect(buf.toString('latin1', 0, writeEpochSeconds(buf, 0, ms))).toBe((Math.round(ms) / 1000).toFixed(3));
    }
  });
});

describe('audio messages assembled in place', () => {
  it('native audio_data: the same text as the JSON template, frame after frame', () => {
    const c = new NativeCodec(info);
    for (let i = 0; i < 5; i++) {
      const frame = numberedFrame(i);
      const wall = 1_700_000_000_000 + i * 20.4;
      const audio = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
      const expected = `{"type":"audio_data","data":{"call_id":${id},"audio":"${audio}","timestamp":${(Math.round(wall) / 1000).toFixed(3)},"seq":${i}}}`;
      expect((c.encodeAudio(frame, i, wall) as Buffer).toString('utf8')).toBe(expected);
    }
  });

  it('native audio_data at 16 kHz is 640 bytes of audio per frame', () => {
    const c = new NativeCodec(info, 16000);
    for (let i = 0; i < 3; i++) {
      const m = JSON.parse((c.encodeAudio(numberedFrame(i), i, 0) as Buffer).toString('utf8')) as { data: { audio: string } };
      expect(Buffer.from(m.data.audio, 'base64').length).toBe(640);
    }
  });

  it('Twilio media: the same text as the JSON template, frame after frame', () => {
    const c = new TwilioCodec(info);
    c.openMessages(false);
    const sid = JSON.stringify(c.streamSid);
    for (let i = 0; i < 5; i++) {
      const frame = numberedFrame(i);
      const ulaw = Buffer.alloc(160);
      PCMU.encodeInto(frame, ulaw);
      const m = (c.encodeAudio(frame, i, 5000 + i * 20) as Buffer).toString('utf8');
      const expected = `{"event":"media","sequenceNumber":"${i + 2}","media":{"track":"inbound","chunk":"${i + 1}","timestamp":"${i * 20}","payload":"${ulaw.toString('base64')}"},"streamSid":${sid}}`;
      expect(m).toBe(expected);
    }
  });
});

describe('frame bytes and text agree on arbitrary messages', () => {
  const codecs: ProtocolCodec[] = [new NativeCodec(info), new NativeCodec(info, 24000), new TwilioCodec(info), new JambonzCodec(info)];
  const value = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('audio_data', 'media', 'pcm16', 'mulaw', 'call-1@test', 'QQ==', b64, TWILIO_PAYLOAD, ''),
    fc.base64String({ maxLength: 24 }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(8000, 16000, 44100, 12345),
    fc.boolean(),
    fc.constant(null),
  );
  const inner = fc.dictionary(fc.constantFrom('audio', 'call_id', 'encoding', 'sample_rate', 'payload', 'type', 'event', 'x'), value, { maxKeys: 5 });
  const message = fc.record(
    {
      type: fc.oneof(fc.constant('audio_data'), value),
      event: fc.oneof(fc.constant('media'), value),
      call_id: value,
      audio: value,
      data: fc.oneof(inner, value),
      media: fc.oneof(inner, value),
    },
    { requiredKeys: [] },
  );

  it('decodeTextFrame(bytes) equals decodeText(text)', () => {
    fc.assert(
      fc.property(message, fc.constantFrom('', ' ', '\n\t'), (msg, ws) => {
        const text = JSON.stringify(msg, null, ws);
        for (const c of codecs) expectSameAsGeneralPath(c, text);
      }),
      { numRuns: 1500 },
    );
  });
});
