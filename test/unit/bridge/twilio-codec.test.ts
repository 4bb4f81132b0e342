import { isTwilioSid, TwilioCodec } from '../../../src/bridge';
import { PCMU } from '../../../src/dsp';
import { FakeCallPort, numberedFrame } from './fake-call-port';

const info = new FakeCallPort().info;
const parse = (m: string | Buffer | null): Record<string, unknown> => JSON.parse(m as string) as Record<string, unknown>;

// Field names and types follow https://www.twilio.com/docs/voice/media-streams/websocket-messages
describe('TwilioCodec (Media Streams schema)', () => {
  it('opens with connected then start, as Twilio does', () => {
    const c = new TwilioCodec(info);
    const [connected, start] = c.openMessages(false).map(parse);
    expect(connected).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(start.event).toBe('start');
    expect(start.sequenceNumber).toBe('1');
    expect(typeof start.streamSid).toBe('string');
    const s = start.start as Record<string, unknown>;
    expect(s.streamSid).toBe(start.streamSid);
    expect(isTwilioSid('MZ', s.streamSid as string)).toBe(true);
    expect(isTwilioSid('AC', s.accountSid as string)).toBe(true);
    expect(isTwilioSid('CA', s.callSid as string)).toBe(true);
    expect(s.tracks).toEqual(['inbound']);
    expect(s.customParameters).toMatchObject({ tenant: 'acme', from: '+15551230001', to: '+15559870002' });
    expect(s.mediaFormat).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
  });

  it('keeps the stream and call SIDs across a reconnection and marks it resumed', () => {
    const c = new TwilioCodec(info);
    const first = parse(c.openMessages(false)[1]).start as Record<string, unknown>;
    c.encodeAudio(new Int16Array(160), 0, 1000);
    const again = parse(c.openMessages(true)[1]);
    const s = again.start as Record<string, unknown>;
    expect(again.sequenceNumber).toBe('1');
    expect(s.streamSid).toBe(first.streamSid);
    expect(s.callSid).toBe(first.callSid);
    expect((s.customParameters as Record<string, string>).resumed).toBe('true');
  });

  it('media: string sequenceNumber/chunk/timestamp, inbound track, 160 bytes of mu-law', () => {
    const c = new TwilioCodec(info);
    c.openMessages(false);
    const frame = numberedFrame(9);
    const a = parse(c.encodeAudio(frame, 0, 5000));
    const b = parse(c.encodeAudio(frame, 1, 5020));
    expect(a.event).toBe('media');
    expect(a.sequenceNumber).toBe('2');
    expect(b.sequenceNumber).toBe('3');
    expect(a.streamSid).toBe(c.streamSid);
    const ma = a.media as Record<string, unknown>;
    const mb = b.media as Record<string, unknown>;
    expect(ma.track).toBe('inbound');
    expect(ma.chunk).toBe('1');
    expect(mb.chunk).toBe('2');
    expect(ma.timestamp).toBe('0');
    expect(mb.timestamp).toBe('20');
    const payload = Buffer.from(ma.payload as string, 'base64');
    expect(payload.length).toBe(160);
    expect(Array.from(payload)).toEqual(Array.from(PCMU.encode(frame)));
  });

  it('dtmf, mark and stop', () => {
    const c = new TwilioCodec(info);
    c.openMessages(false);
    const d = parse(c.encodeDtmf({ digit: '#', source: 'inband', durationMs: 80 }));
    expect(d).toEqual({ event: 'dtmf', streamSid: c.streamSid, sequenceNumber: '2', dtmf: { track: 'inbound_track', digit: '#' } });
    expect(parse(c.encodeMark('greeting'))).toEqual({ event: 'mark', sequenceNumber: '3', streamSid: c.streamSid, mark: { name: 'greeting' } });
    expect(parse(c.encodeEnd())).toEqual({ event: 'stop', sequenceNumber: '4', streamSid: c.streamSid, stop: { accountSid: c.accountSid, callSid: c.callSid } });
    expect(c.encodeError()).toBeNull();
    expect(c.encodeSms()).toBeNull();
  });

  it('honours a configured accountSid and refuses malformed SIDs', () => {
    const sid = 'AC' + 'ab'.repeat(16);
    expect(new TwilioCodec(info, { accountSid: sid }).accountSid).toBe(sid);
    expect(() => new TwilioCodec(info, { accountSid: 'AC123' })).toThrow(TypeError);
    expect(() => new TwilioCodec(info, { streamSid: 'XX' + '0'.repeat(32) })).toThrow(TypeError);
  });

  it('decodes media, mark and clear from the app', () => {
    const c = new TwilioCodec(info);
    const payload = Buffer.from([0xff, 0x7f, 0x00]).toString('base64');
    expect(c.decodeText(JSON.stringify({ event: 'media', streamSid: c.streamSid, media: { payload } }))).toMatchObject({
      ok: true,
      command: { kind: 'audio', encoding: 'mulaw', sampleRate: 8000 },
    });
    expect(c.decodeText(JSON.stringify({ event: 'mark', streamSid: c.streamSid, mark: { name: 'x' } }))).toEqual({ ok: true, command: { kind: 'mark', name: 'x' } });
    expect(c.decodeText(JSON.stringify({ event: 'clear', streamSid: c.streamSid }))).toEqual({ ok: true, command: { kind: 'clear' } });
  });

  it.each([
    ['media without payload', '{"event":"media","media":{}}', 'BRIDGE_BAD_FIELD'],
    ['media bad base64', '{"event":"media","media":{"payload":"!!"}}', 'BRIDGE_BAD_FIELD'],
    ['mark without name', '{"event":"mark","mark":{}}', 'BRIDGE_BAD_FIELD'],
    ['unknown event', '{"event":"start"}', 'BRIDGE_UNKNOWN_TYPE'],
    ['no event', '{"type":"clear"}', 'BRIDGE_BAD_FIELD'],
    ['not json', 'clear', 'BRIDGE_MALFORMED_JSON'],
  ])('refuses %s', (_n, text, code) => {
    const r = new TwilioCodec(info).decodeText(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });
});
