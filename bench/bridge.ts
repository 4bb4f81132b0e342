/**
 * AI bridge per-frame cost: `node --require ./bench/register.js bench/bridge.ts`.
 *
 * Every call sends one caller frame to the AI every 20 ms and receives the AI's audio at about the same rate, so
 * 1,000 calls mean 50,000 encodes and 50,000 decodes per second. Figures (CPU microseconds per frame, and frames/s
 * on one core) are printed, not asserted: the machine is shared.
 *
 * Encode rows include what ws does with a string message before framing it (UTF-8 length and bytes).
 * "frame bytes" rows decode as the session does: the WebSocket text frame's bytes (decodeTextFrame, whose audio fast
 * path needs no string and no JSON.parse); the others go through decodeText with a string (the general path).
 */
import { DownlinkConverter, JambonzCodec, NativeCodec, ProtocolCodec, TwilioCodec } from '../src/bridge';
import type { BridgeCallInfo } from '../src/bridge';

const info: BridgeCallInfo = { callId: 'a84b4c76e66710@198.51.100.7', from: '+15551230001', to: '+15559870002', direction: 'inbound', codec: 'PCMU', customParameters: {} };
let sink = 0;

/** CPU time per frame (process.cpuUsage: what other load on a shared machine changes least), best of three. */
function bench(name: string, frames: number, run: (i: number) => void): void {
  for (let i = 0; i < Math.min(frames, 5000); i++) run(i); // warm-up (JIT)
  let us = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < frames; i++) run(i);
    const c = process.cpuUsage(c0);
    us = Math.min(us, (c.user + c.system) / frames);
  }
  console.log(`${name.padEnd(40)} ${us.toFixed(2).padStart(8)} us/frame  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(12)} frames/s`);
}

const frames: Int16Array[] = [];
for (let f = 0; f < 50; f++) frames.push(Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * (f * 160 + i)) / 8000))));

const N = 100_000;
const uplink: [string, ProtocolCodec][] = [
  ['native 8 kHz encode (audio_data)', new NativeCodec(info)],
  ['native 16 kHz encode (resample + JSON)', new NativeCodec(info, 16000)],
  ['twilio encode (mu-law media)', new TwilioCodec(info)],
  ['jambonz encode (binary L16)', new JambonzCodec(info)],
];
for (const [name, codec] of uplink) {
  codec.openMessages(false);
  bench(name, N, (i) => {
    const m = codec.encodeAudio(frames[i % 50], i, 1_700_000_000_000 + i * 20);
    // What ws does before masking (RFC 6455 §5.3): a string is measured and encoded to UTF-8 bytes, a Buffer is used.
    sink += typeof m === 'string' ? Buffer.byteLength(m) + Buffer.from(m).length : m.length;
  });
}

// Downlink: a 20 ms audio_data message from the AI, decoded and converted to 8 kHz for the caller.
const native = new NativeCodec(info);
const down = new DownlinkConverter();
const aiMessage = native.encodeAudio(frames[3], 0, 0).toString();
bench('native audio_data decode + convert', N, () => {
  const r = native.decodeText(aiMessage);
  if (r.ok && r.command.kind === 'audio') {
    const pcm = down.convert(r.command);
    if (pcm.ok) sink += pcm.pcm[5];
  }
});

const wide = new NativeCodec(info, 16000);
const wideDown = new DownlinkConverter();
const wideMessage = wide.encodeAudio(frames[3], 0, 0).toString();
bench('native 16 kHz decode + resample to 8 kHz', N, () => {
  const r = wide.decodeText(wideMessage);
  if (r.ok && r.command.kind === 'audio') {
    const pcm = wideDown.convert(r.command);
    if (pcm.ok) sink += pcm.pcm[5];
  }
});

/** What the session does with a text frame (a build without decodeTextFrame: string + decodeText). */
function decodeFrame(codec: ProtocolCodec, bytes: Buffer): ReturnType<ProtocolCodec['decodeText']> {
  const c = codec as Partial<Pick<ProtocolCodec, 'decodeTextFrame'>> & ProtocolCodec;
  return c.decodeTextFrame !== undefined ? c.decodeTextFrame(bytes) : codec.decodeText(bytes.toString('utf8'));
}

const aiFrame = Buffer.from(aiMessage, 'utf8');
bench('native audio_data frame bytes + convert', N, () => {
  const r = decodeFrame(native, aiFrame);
  if (r.ok && r.command.kind === 'audio') {
    const pcm = down.convert(r.command);
    if (pcm.ok) sink += pcm.pcm[5];
  }
});

const twilio = new TwilioCodec(info);
const twilioMsg = JSON.stringify({ event: 'media', streamSid: twilio.streamSid, media: { payload: Buffer.alloc(160, 0x55).toString('base64') } });
const twilioDown = new DownlinkConverter();
bench('twilio media decode + mu-law to PCM', N, () => {
  const r = twilio.decodeText(twilioMsg);
  if (r.ok && r.command.kind === 'audio') {
    const pcm = twilioDown.convert(r.command);
    if (pcm.ok) sink += pcm.pcm[5];
  }
});

const twilioFrame = Buffer.from(twilioMsg, 'utf8');
bench('twilio media frame bytes + mu-law to PCM', N, () => {
  const r = decodeFrame(twilio, twilioFrame);
  if (r.ok && r.command.kind === 'audio') {
    const pcm = twilioDown.convert(r.command);
    if (pcm.ok) sink += pcm.pcm[5];
  }
});

if (sink === 42) console.log('');
