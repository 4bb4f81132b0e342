import fc from 'fast-check';
import { DownlinkConverter, JambonzCodec, NativeCodec, ProtocolCodec, TwilioCodec } from '../../../src/bridge';
import { FakeCallPort } from '../../unit/bridge/fake-call-port';

// Property: nothing an AI platform sends can make a decoder throw; every input decodes or is refused with a code.
const info = new FakeCallPort().info;
const codecs: ProtocolCodec[] = [new NativeCodec(info), new TwilioCodec(info), new JambonzCodec(info, 16000)];

const types = ['audio_data', 'clear', 'mark', 'hangup', 'transfer', 'send_dtmf', 'hold', 'resume', 'play', 'transcript', 'playAudio', 'killAudio', 'clearMarks', 'disconnect', 'x'];
const fieldValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.base64String(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
const message = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...types), fc.string()),
    event: fc.oneof(fc.constantFrom('media', 'mark', 'clear', 'start'), fc.string()),
    call_id: fc.oneof(fc.constant('call-1@test'), fc.string()),
    data: fc.oneof(fc.dictionary(fc.constantFrom('audio', 'name', 'target', 'digits', 'file', 'speaker', 'text', 'encoding', 'sample_rate', 'audioContent', 'audioContentType', 'sampleRate', 'id', 'type'), fieldValue), fieldValue),
    media: fc.oneof(fc.record({ payload: fieldValue }), fieldValue),
    mark: fc.oneof(fc.record({ name: fieldValue }), fieldValue),
  },
  { requiredKeys: [] },
);

describe('bridge decoders never throw', () => {
  it('on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        for (const c of codecs) {
          const r = c.decodeText(text);
          if (!r.ok) expect(r.error.code).toMatch(/^BRIDGE_/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on arbitrary JSON messages shaped like the protocols', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const text = JSON.stringify(msg);
        for (const c of codecs) {
          const r = c.decodeText(text);
          if (!r.ok) expect(r.error.code).toMatch(/^BRIDGE_/);
          else expect(typeof r.command.kind).toBe('string');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('on arbitrary binary frames and audio payloads', () => {
    const down = new DownlinkConverter();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.constantFrom('pcm16', 'mulaw', 'wav'), fc.constantFrom(8000, 16000, 24000, 48000), (bytes, encoding, rate) => {
        for (const c of codecs) c.decodeBinary(Buffer.from(bytes));
        const r = down.convert({ kind: 'audio', encoding, bytes, sampleRate: rate });
        if (r.ok) expect(r.pcm.length).toBeLessThanOrEqual(bytes.length + 2);
      }),
      { numRuns: 300 },
    );
  });
});
