import { JAMBONZ_SUBPROTOCOL, JambonzCodec } from '../../../src/bridge';
import { FakeCallPort, numberedFrame } from './fake-call-port';

const info = new FakeCallPort().info;
const parse = (m: string | Buffer | null): Record<string, unknown> => JSON.parse(m as string) as Record<string, unknown>;

// Message shapes follow jambonz's listen verb docs and its mod_audio_fork (send_mark_event, processIncomingMessage).
describe('JambonzCodec (listen, audio.jambonz.org)', () => {
  it('requests the audio.jambonz.org subprotocol', () => {
    expect(new JambonzCodec(info).subprotocol).toBe(JAMBONZ_SUBPROTOCOL);
    expect(JAMBONZ_SUBPROTOCOL).toBe('audio.jambonz.org');
  });

  it('first text frame: call attributes, sampleRate, mixType, custom metadata merged in', () => {
    const c = new JambonzCodec(info, 16000);
    const meta = parse(c.openMessages(false)[0]);
    expect(meta).toMatchObject({ sampleRate: 16000, mixType: 'mono', callSid: 'call-1@test', from: '+15551230001', to: '+15559870002', direction: 'inbound', tenant: 'acme' });
    expect(meta.resumed).toBeUndefined();
    expect(parse(c.openMessages(true)[0]).resumed).toBe(true);
  });

  it('audio is a binary L16 little-endian frame: 320 bytes at 8 kHz, 640 at 16 kHz', () => {
    const frame = numberedFrame(4);
    const nb = new JambonzCodec(info).encodeAudio(frame) as Buffer;
    expect(Buffer.isBuffer(nb)).toBe(true);
    expect(nb.length).toBe(320);
    for (let i = 0; i < 160; i++) expect(nb.readInt16LE(i * 2)).toBe(frame[i]);
    const wb = new JambonzCodec(info, 16000);
    for (let i = 0; i < 3; i++) expect((wb.encodeAudio(numberedFrame(i)) as Buffer).length).toBe(640);
  });

  it('dtmf as {event, dtmf, duration in 8 kHz samples}; mark replies playout/cleared; playDone', () => {
    const c = new JambonzCodec(info);
    expect(parse(c.encodeDtmf({ digit: '7', source: 'rfc4733', durationMs: 100 }))).toEqual({ event: 'dtmf', dtmf: '7', duration: 800 });
    expect(parse(c.encodeMark('a', 'played'))).toEqual({ type: 'mark', data: { name: 'a', event: 'playout' } });
    expect(parse(c.encodeMark('a', 'cleared'))).toEqual({ type: 'mark', data: { name: 'a', event: 'cleared' } });
    expect(parse(c.encodePlayDone('p1'))).toEqual({ type: 'playDone', data: { id: 'p1' } });
    expect(parse(c.encodePlayDone(null))).toEqual({ type: 'playDone' });
    expect(c.encodeEnd()).toBeNull();
    expect(c.encodeError()).toBeNull();
  });

  it('decodes binary audio, playAudio, killAudio, mark, clearMarks, disconnect', () => {
    const c = new JambonzCodec(info, 16000);
    expect(c.decodeBinary(Buffer.alloc(64))).toMatchObject({ ok: true, command: { kind: 'audio', encoding: 'pcm16', sampleRate: 16000 } });
    const raw = { type: 'playAudio', data: { audioContent: Buffer.alloc(32).toString('base64'), audioContentType: 'raw', sampleRate: '24000', id: 'p9' } };
    expect(c.decodeText(JSON.stringify(raw))).toMatchObject({ ok: true, command: { kind: 'audio', encoding: 'pcm16', sampleRate: 24000, playId: 'p9' } });
    const wav = { type: 'playAudio', data: { audioContent: 'UklGRg==', audioContentType: 'wave' } };
    expect(c.decodeText(JSON.stringify(wav))).toMatchObject({ ok: true, command: { kind: 'audio', encoding: 'wav', playId: null } });
    expect(c.decodeText('{"type":"killAudio"}')).toEqual({ ok: true, command: { kind: 'clear' } });
    expect(c.decodeText('{"type":"mark","data":{"name":"n"}}')).toEqual({ ok: true, command: { kind: 'mark', name: 'n' } });
    expect(c.decodeText('{"type":"clearMarks"}')).toEqual({ ok: true, command: { kind: 'clearMarks' } });
    expect(c.decodeText('{"type":"disconnect"}')).toEqual({ ok: true, command: { kind: 'hangup', reason: 'ai-disconnect' } });
  });

  it.each([
    ['playAudio without data', '{"type":"playAudio"}', 'BRIDGE_BAD_FIELD'],
    ['playAudio bad content type', '{"type":"playAudio","data":{"audioContent":"AAAA","audioContentType":"mp3"}}', 'BRIDGE_BAD_FIELD'],
    ['playAudio bad rate', '{"type":"playAudio","data":{"audioContent":"AAAA","sampleRate":1234}}', 'BRIDGE_BAD_FIELD'],
    ['mark without name', '{"type":"mark"}', 'BRIDGE_BAD_FIELD'],
    ['unknown', '{"type":"transcription"}', 'BRIDGE_UNKNOWN_TYPE'],
    ['not json', '\u0000', 'BRIDGE_MALFORMED_JSON'],
  ])('refuses %s', (_n, text, code) => {
    const r = new JambonzCodec(info).decodeText(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });
});
