/**
 * DSP hot-path cost per 20 ms frame: `node --require ./bench/register.js bench/dsp.ts`.
 *
 * One call's media pipeline runs these 50 times a second: G.711 decode/encode (RTP in/out), DTMF detection on
 * the decoded audio, and resampling between the 8 kHz telephone side and a 16 kHz AI platform.
 * Figures (microseconds of CPU time per frame, and frames/s on one core) are printed, not asserted: the machine is
 * shared, and CPU time (process.cpuUsage) rather than wall time keeps other load out of the figures.
 */
import { GoertzelDtmfDetector, PCMU, Resampler, dbm0ToPeak, mulawToAlawInto } from '../src/dsp';

const FRAME = 160;
let sink = 0;

function speechLike(n: number, rate: number): Int16Array {
  // A voiced-speech stand-in: harmonics of a wandering 120 Hz pitch plus noise, around -20 dBm0.
  const out = new Int16Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const t = i / rate;
    const f0 = 120 + 15 * Math.sin(2 * Math.PI * 3 * t);
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    out[i] = Math.round(dbm0ToPeak(-20) * 0.5 * v + ((seed >>> 16) / 65536 - 0.5) * 300);
  }
  return out;
}

function bench(name: string, frames: number, run: (i: number) => void): void {
  for (let i = 0; i < Math.min(frames, 2000); i++) run(i); // warm-up (JIT)
  const c0 = process.cpuUsage();
  for (let i = 0; i < frames; i++) run(i);
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / frames;
  console.log(`${name.padEnd(34)} ${us.toFixed(2).padStart(8)} us/frame  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(12)} frames/s`);
}

const N = 20_000;
const pcm8k = speechLike(8000 * 10, 8000);
const pcm16k = speechLike(16000 * 10, 16000);
const ulaw = PCMU.encode(pcm8k);
const framesAvailable = pcm8k.length / FRAME;

const decoded = new Int16Array(FRAME);
bench('G.711 mu-law decode (160)', N * 5, (i) => {
  const off = (i % framesAvailable) * FRAME;
  PCMU.decodeInto(ulaw.subarray(off, off + FRAME), decoded);
  sink += decoded[7];
});

const encoded = new Uint8Array(FRAME);
bench('G.711 mu-law encode (160)', N * 5, (i) => {
  const off = (i % framesAvailable) * FRAME;
  PCMU.encodeInto(pcm8k.subarray(off, off + FRAME), encoded);
  sink += encoded[7];
});

const alawFrame = new Uint8Array(FRAME);
bench('G.711 mu-law -> A-law (160)', N * 5, (i) => {
  const off = (i % framesAvailable) * FRAME;
  mulawToAlawInto(ulaw.subarray(off, off + FRAME), alawFrame);
  sink += alawFrame[7];
});

let digits = 0;
const detector = new GoertzelDtmfDetector({ onDigit: () => digits++ });
bench('Goertzel DTMF detect, speech (160)', N, (i) => {
  const off = (i % framesAvailable) * FRAME;
  detector.process(pcm8k.subarray(off, off + FRAME));
});
const silent = new Int16Array(FRAME);
bench('Goertzel DTMF detect, silence (160)', N, () => detector.process(silent));

const up = new Resampler(8000, 16000);
const upOut = new Int16Array(up.maxOutputLength(FRAME));
bench('resample 8 -> 16 kHz (160 -> 320)', N, (i) => {
  const off = (i % framesAvailable) * FRAME;
  sink += up.processInto(pcm8k.subarray(off, off + FRAME), upOut);
});

const down = new Resampler(16000, 8000);
const downOut = new Int16Array(down.maxOutputLength(2 * FRAME));
bench('resample 16 -> 8 kHz (320 -> 160)', N, (i) => {
  const off = (i % framesAvailable) * 2 * FRAME;
  sink += down.processInto(pcm16k.subarray(off, off + 2 * FRAME), downOut);
});

const up24 = new Resampler(8000, 24000);
const up24Out = new Int16Array(up24.maxOutputLength(FRAME));
bench('resample 8 -> 24 kHz (160 -> 480)', N, (i) => {
  const off = (i % framesAvailable) * FRAME;
  sink += up24.processInto(pcm8k.subarray(off, off + FRAME), up24Out);
});

console.log(`taps per output: 8->16 ${up.tapsPerPhase}, 16->8 ${down.tapsPerPhase}, 8->24 ${up24.tapsPerPhase}; digits on speech: ${digits}; (${sink & 1})`);
