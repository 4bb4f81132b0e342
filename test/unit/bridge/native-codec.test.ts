import { NativeCodec } from '../../../src/bridge';
import { FakeCallPort, numberedFrame } from './fake-call-port';

const info = new FakeCallPort().info;

function parse(m: string | Buffer): Record<string, unknown> {
  return JSON.parse(typeof m === 'string' ? m : m.toString('utf8')) as Record<string, unknown>;
}

describe('NativeCodec encoding', () => {
  it('call_start carries the call, codec, rate, custom parameters and resumed', () => {
    const c = new NativeCodec(info);
    const [m] = c.openMessages(false);
    expect(parse(m)).toEqual({
      type: 'call_start',
      data: {
        call_id: 'call-1@test',
        from_number: '+15551230001',
        to_number: '+15559870002',
        direction: 'inbound',
        codec: 'PCMU',
        sample_rate: 8000,
        encoding: 'pcm16',
        frame_ms: 20,
        custom_parameters: { tenant: 'acme' },
        resumed: false,
      },
    });
    expect((parse(c.openMessages(true)[0]).data as Record<string, unknown>).resumed).toBe(true);
  });

  it('audio_data is valid JSON with 320 bytes of little-endian PCM16 at 8 kHz', () => {
    const c = new NativeCodec(info);
    const frame = numberedFrame(3);
    const msg = parse(c.encodeAudio(frame, 42, 1_700_000_000_123));
    expect(msg.type).toBe('audio_data');
    const data = msg.data as Record<string, unknown>;
    expect(data.call_id).toBe('call-1@test');
    expect(data.seq).toBe(42);
    expect(data.timestamp).toBeCloseTo(1_700_000_000.123, 3);
    const bytes = Buffer.from(data.audio as string, 'base64');
    expect(bytes.length).toBe(320);
    for (let i = 0; i < 160; i++) expect(bytes.readInt16LE(i * 2)).toBe(frame[i]);
  });

  it('builds audio_data as UTF-8 bytes for a text frame, also for a call id beyond ASCII', () => {
    const c = new NativeCodec({ ...info, callId: 'café☎@example.com' });
    expect(c.audioFrames).toBe('text');
    const m = c.encodeAudio(numberedFrame(1), 7, 1_700_000_000_000);
    expect(Buffer.isBuffer(m)).toBe(true);
    const data = parse(m).data as Record<string, unknown>;
    expect(data.call_id).toBe('café☎@example.com');
    expect(data.seq).toBe(7);
  });

  it('escapes a call id that needs it (the template uses a JSON literal)', () => {
    const c = new NativeCodec({ ...info, callId: 'a"b\\c' });
    expect((parse(c.encodeAudio(new Int16Array(160), 0, 0)).data as Record<string, unknown>).call_id).toBe('a"b\\c');
  });

  it.each([
    [16000, 640],
    [24000, 960],
  ])('wideband %i Hz sends %i bytes per 20 ms', (rate, bytes) => {
    const c = new NativeCodec(info, rate);
    for (let i = 0; i < 3; i++) {
      const data = parse(c.encodeAudio(numberedFrame(i), i, 0)).data as Record<string, unknown>;
      expect(Buffer.from(data.audio as string, 'base64').length).toBe(bytes);
    }
    expect((parse(c.openMessages(false)[0]).data as Record<string, unknown>).sample_rate).toBe(rate);
  });

  it('refuses an unsupported uplink rate', () => {
    expect(() => new NativeCodec(info, 11025)).toThrow(TypeError);
  });

  it('encodes dtmf, mark, call_end, error and sms_received', () => {
    const c = new NativeCodec(info);
    expect(parse(c.encodeDtmf({ digit: '5', source: 'rfc4733', durationMs: 120 }, 1_700_000_000_000))).toEqual({
      type: 'dtmf',
      data: { call_id: 'call-1@test', digit: '5', source: 'rfc4733', duration: 120, timestamp: 1_700_000_000 },
    });
    expect(parse(c.encodeMark('m1', 'cleared'))).toEqual({ type: 'mark', data: { call_id: 'call-1@test', name: 'm1', event: 'cleared' } });
    expect(parse(c.encodeEnd('caller-hangup', 12.3456))).toEqual({ type: 'call_end', data: { call_id: 'call-1@test', reason: 'caller-hangup', duration: 12.346 } });
    const err = parse(c.encodeError({ code: 'BRIDGE_UNKNOWN_TYPE', message: 'unknown', type: 'foo' }));
    expect(err).toEqual({ type: 'error', data: { call_id: 'call-1@test', code: 'BRIDGE_UNKNOWN_TYPE', message: 'unknown', message_type: 'foo' } });
    const sms = parse(c.encodeSms({ messageId: 'm-1', from: '+1', to: '+2', text: 'hi' }, 1_700_000_000_500)!);
    expect(sms.type).toBe('sms_received');
    expect(sms.data).toMatchObject({ call_id: 'call-1@test', message_id: 'm-1', from_number: '+1', to_number: '+2', text: 'hi' });
    expect(c.encodePlayDone()).toBeNull();
  });
});

describe('NativeCodec decoding', () => {
  const c = new NativeCodec(info);
  const ok = (m: unknown) => {
    const r = c.decodeText(JSON.stringify(m));
    if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
    return r.command;
  };

  it('audio_data: PCM16 at the negotiated rate by default, mu-law and explicit rates on request', () => {
    const pcm = Buffer.alloc(100);
    const cmd = ok({ type: 'audio_data', data: { call_id: 'call-1@test', audio: pcm.toString('base64') } });
    expect(cmd).toMatchObject({ kind: 'audio', encoding: 'pcm16', sampleRate: 8000 });
    expect(ok({ type: 'audio_data', data: { audio: 'AAAA', encoding: 'mulaw' } })).toMatchObject({ encoding: 'mulaw', sampleRate: 8000 });
    expect(ok({ type: 'audio_data', data: { audio: 'AAAA', sample_rate: 16000 } })).toMatchObject({ encoding: 'pcm16', sampleRate: 16000 });
  });

  it('accepts call_id and fields at the top level or in data (the seed uses both)', () => {
    expect(ok({ type: 'hangup', call_id: 'call-1@test' })).toEqual({ kind: 'hangup', reason: 'ai-hangup' });
    expect(ok({ type: 'transfer', call_id: 'call-1@test', target: '+15551234567' })).toEqual({ kind: 'transfer', target: '+15551234567', type: 'blind' });
    expect(ok({ type: 'transfer', data: { call_id: 'call-1@test', target: 'sip:agent@pbx', type: 'attended' } })).toEqual({
      kind: 'transfer',
      target: 'sip:agent@pbx',
      type: 'attended',
    });
  });

  it.each([
    [{ type: 'clear' }, { kind: 'clear' }],
    [{ type: 'mark', data: { name: 'end-of-turn' } }, { kind: 'mark', name: 'end-of-turn' }],
    [{ type: 'send_dtmf', data: { digits: '12#a' } }, { kind: 'sendDtmf', digits: '12#A' }],
    [{ type: 'hold' }, { kind: 'hold' }],
    [{ type: 'resume' }, { kind: 'resume' }],
    [{ type: 'play', data: { file: 'welcome.wav' } }, { kind: 'play', source: 'welcome.wav' }],
    [{ type: 'play', data: { url: 'https://x/y.wav' } }, { kind: 'play', source: 'https://x/y.wav' }],
    [{ type: 'record_start' }, { kind: 'recordStart' }],
    [{ type: 'record_stop' }, { kind: 'recordStop' }],
    [{ type: 'transcript', data: { speaker: 'agent', text: 'hello', start: 1.5, end: 2 } }, { kind: 'transcript', entry: { speaker: 'agent', text: 'hello', start: 1.5, end: 2 } }],
    [{ type: 'hangup', data: { reason: 'done' } }, { kind: 'hangup', reason: 'done' }],
  ])('%j -> %j', (msg, cmd) => {
    expect(ok(msg)).toEqual(cmd);
  });

  const bad: Record<string, [string, string]> = {
    'not json': ['{nope', 'BRIDGE_MALFORMED_JSON'],
    'array': ['[1,2]', 'BRIDGE_NOT_AN_OBJECT'],
    'no type': ['{"data":{}}', 'BRIDGE_BAD_FIELD'],
    'data not object': ['{"type":"clear","data":5}', 'BRIDGE_BAD_FIELD'],
    'unknown type': ['{"type":"dance"}', 'BRIDGE_UNKNOWN_TYPE'],
    'other call': ['{"type":"hangup","call_id":"other"}', 'BRIDGE_CALL_ID_MISMATCH'],
    'audio missing': ['{"type":"audio_data","data":{}}', 'BRIDGE_BAD_FIELD'],
    'audio not base64': ['{"type":"audio_data","data":{"audio":"@@@@"}}', 'BRIDGE_BAD_FIELD'],
    'audio bad encoding': ['{"type":"audio_data","data":{"audio":"AAAA","encoding":"opus"}}', 'BRIDGE_BAD_FIELD'],
    'audio bad rate': ['{"type":"audio_data","data":{"audio":"AAAA","sample_rate":12345}}', 'BRIDGE_BAD_FIELD'],
    'mark without name': ['{"type":"mark","data":{}}', 'BRIDGE_BAD_FIELD'],
    'transfer without target': ['{"type":"transfer"}', 'BRIDGE_BAD_FIELD'],
    'transfer bad type': ['{"type":"transfer","target":"+1","transfer_type":"magic"}', 'BRIDGE_BAD_FIELD'],
    'dtmf bad digits': ['{"type":"send_dtmf","digits":"12x"}', 'BRIDGE_BAD_FIELD'],
    'play without source': ['{"type":"play"}', 'BRIDGE_BAD_FIELD'],
    'transcript without text': ['{"type":"transcript","data":{"speaker":"ai"}}', 'BRIDGE_BAD_FIELD'],
  };
  it.each(Object.entries(bad))('refuses %s', (_name, [text, code]) => {
    const r = c.decodeText(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.message.length).toBeGreaterThan(0);
    }
  });

  it('refuses binary frames', () => {
    const r = c.decodeBinary();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BRIDGE_UNEXPECTED_BINARY');
  });
});
