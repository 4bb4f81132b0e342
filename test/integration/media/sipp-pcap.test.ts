import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PCMA } from '../../../src/dsp';
import type { MediaDtmfEvent } from '../../../src/media';
import { decodeRtp, RtpPacket } from '../../../src/rtp';
import { readPcapUdp } from '../../helpers/pcap';
import { runSipp, scenarioPath } from '../../helpers/sipp';
import { startMediaTestServer, type MediaTestServer } from './media-test-server';

// SIPp places a call offering PCMA + telephone-event and plays g711a.pcap then the twelve dtmf_2833_*.pcap captures
// (sipp/uac-pcap.xml). The server's media session must hand up exactly the pcap's audio and each digit once.

const FIXTURES = resolve(__dirname, '../../fixtures/rtp');

let srv: MediaTestServer;
let dir: string;

beforeAll(async () => {
  srv = await startMediaTestServer({ DEFAULT_ROUTE: 'answer' });
  dir = mkdtempSync(join(tmpdir(), 'sipp-pcap-'));
});

afterAll(async () => {
  await srv?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The scenario with its pcap paths made absolute (SIPp runs in a temporary directory). */
function scenarioWithAbsolutePaths(): string {
  const xml = readFileSync(scenarioPath('uac-pcap'), 'utf8').replace(/play_pcap_audio="test\/fixtures\/rtp\//g, `play_pcap_audio="${FIXTURES}/`);
  const path = join(dir, 'uac-pcap.xml');
  writeFileSync(path, xml);
  return path;
}

function pcapAudio(name: string): Int16Array {
  const pkt = new RtpPacket();
  const payloads: Buffer[] = [];
  for (const udp of readPcapUdp(join(FIXTURES, name))) {
    if (decodeRtp(udp.payload, pkt) === null && pkt.payloadType === 8) payloads.push(Buffer.from(pkt.payload));
  }
  return PCMA.decode(Buffer.concat(payloads));
}

describe('media over real sockets: SIPp plays pcap audio and RFC 4733 DTMF', () => {
  it('hands up the pcap audio sample for sample and each digit exactly once', async () => {
    const run = runSipp({ scenario: scenarioWithAbsolutePaths(), target: srv.udpTarget, calls: 1, service: '1000', timeoutS: 40 });
    const { media } = await srv.nextSession();
    const frames: { pcm: Int16Array; concealed: boolean }[] = [];
    const digits: MediaDtmfEvent[] = [];
    media.on('frame', (pcm, concealed) => frames.push({ pcm: pcm.slice(), concealed }));
    media.on('dtmf', (e) => digits.push(e));
    const closed = new Promise<void>((r) => media.once('closed', () => r()));
    const result = await run;
    expect(result.errors).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.successful).toBe(1);
    await closed;

    expect(digits.map((d) => d.digit).join('')).toBe('0123456789*#');
    expect(digits.every((d) => d.source === 'rfc4733')).toBe(true);

    // Concealment may lead or trail the stream; the payload-bearing frames are one unbroken run.
    expect(frames.every((f) => f.pcm.length === 160)).toBe(true);
    const first = frames.findIndex((f) => !f.concealed);
    const last = frames.length - 1 - [...frames].reverse().findIndex((f) => !f.concealed);
    expect(first).toBeGreaterThanOrEqual(0);
    const run2 = frames.slice(first, last + 1);
    expect(run2.filter((f) => f.concealed)).toHaveLength(0);
    const got = new Int16Array(run2.length * 160);
    run2.forEach((f, i) => got.set(f.pcm, i * 160));
    const expected = pcapAudio('g711a.pcap');
    // 236 packets of 30 ms = 354 frames of 20 ms exactly.
    expect(got.length).toBe(expected.length);
    expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  }, 60_000);
});
