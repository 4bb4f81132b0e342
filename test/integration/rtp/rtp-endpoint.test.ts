import { createSocket, Socket } from 'node:dgram';
import { once } from 'node:events';
import { decodeRtcp, decodeRtp, DtmfEvent, encodeRtp, RtcpPacket, RtpEndpoint, RtpPacket, RtpPortPool } from '../../../src/rtp';
import { VirtualClock } from '../../../src/util';

// A per-worker range away from the unit tests' range.
const base = 50000 + ((process.pid * 13) % 4000) * 2;
const pool = new RtpPortPool({ min: base, max: base + 99, host: '127.0.0.1' });

const endpoints: RtpEndpoint[] = [];
const sockets: Socket[] = [];

async function open(opts: Partial<Parameters<typeof RtpEndpoint.open>[0]> = {}): Promise<RtpEndpoint> {
  const ep = await RtpEndpoint.open({ pool, payloadTypes: [0], ...opts });
  endpoints.push(ep);
  return ep;
}

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

/** Wait until `cond` holds, polling; fails the test after a generous deadline (not a timing assertion). */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function rtp(seq: number, pt = 0, ssrc = 0x5555): Buffer {
  return encodeRtp({ marker: false, payloadType: pt, sequenceNumber: seq, timestamp: seq * 160, ssrc }, Buffer.alloc(160, 0xff));
}

afterEach(async () => {
  for (const ep of endpoints.splice(0)) ep.close();
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  await waitFor(() => pool.allocated === 0, 'ports released');
});

describe('RtpEndpoint over real sockets', () => {
  it('latches to the first source of valid RTP and ignores a second source', async () => {
    const ep = await open();
    const first = await udp();
    const second = await udp();
    const latches: [string, number][] = [];
    const seqs: number[] = [];
    ep.on('latch', (a, p) => latches.push([a, p]));
    ep.on('rtp', (p) => seqs.push(p.sequenceNumber));

    // A packet with a payload type we did not negotiate must not latch.
    second.send(rtp(1, 18), ep.rtpPort, '127.0.0.1');
    await waitFor(() => ep.stats().unknownPayloadType === 1, 'unknown PT counted');
    first.send(rtp(10), ep.rtpPort, '127.0.0.1');
    await waitFor(() => seqs.length === 1, 'first packet');
    expect(latches).toEqual([['127.0.0.1', first.address().port]]);

    second.send(rtp(500), ep.rtpPort, '127.0.0.1');
    await waitFor(() => ep.stats().foreignSource === 1, 'foreign packet counted');
    first.send(rtp(11), ep.rtpPort, '127.0.0.1');
    await waitFor(() => seqs.length === 2, 'second packet');
    expect(seqs).toEqual([10, 11]);

    // Our media goes to the latched source, not to the SDP address nor the intruder.
    const got: Buffer[] = [];
    first.on('message', (m) => got.push(m));
    ep.setRemote({ address: '127.0.0.1', port: first.address().port, payloadTypes: [0] }); // same address: stays latched
    expect(ep.sendFrame(Buffer.alloc(160), 160)).toBe(true);
    await waitFor(() => got.length === 1, 'frame at the latched source');
    const pkt = new RtpPacket();
    expect(decodeRtp(got[0], pkt)).toBeNull();
    expect(pkt.ssrc).toBe(ep.sender.ssrc);
    const stats = ep.stats();
    expect(stats).toMatchObject({ packetsReceived: 2, foreignSource: 1, unknownPayloadType: 1, latchedPort: first.address().port, packetsSent: 1 });
    expect(stats.lastPacketAt).not.toBeNull();

    // A re-INVITE moving the media elsewhere unlatches: the new source may latch.
    ep.setRemote({ address: '127.0.0.1', port: second.address().port, payloadTypes: [0] });
    second.send(rtp(7000, 0, 0x7777), ep.rtpPort, '127.0.0.1');
    await waitFor(() => seqs.length === 3, 'packet from the new source');
    expect(latches[1]).toEqual(['127.0.0.1', second.address().port]);
  });

  it('counts malformed datagrams without delivering them', async () => {
    const ep = await open();
    const s = await udp();
    s.send(Buffer.from([0x80, 0x00, 0x01]), ep.rtpPort, '127.0.0.1');
    s.send(Buffer.from('hello world, not rtp'), ep.rtpPort, '127.0.0.1');
    await waitFor(() => ep.stats().decodeErrors === 1 && ep.stats().notRtp === 1, 'drops counted');
    expect(ep.stats().packetsReceived).toBe(0);
  });

  it('sends RTCP SR/RR with CNAME, reads the peer reports, and BYE on close', async () => {
    const a = await open({ rtcpIntervalMs: 100, cname: 'leg-a' });
    const b = await open({ rtcpIntervalMs: 100, cname: 'leg-b' });
    a.setRemote({ address: '127.0.0.1', port: b.rtpPort, payloadTypes: [0] });
    b.setRemote({ address: '127.0.0.1', port: a.rtpPort, payloadTypes: [0] });
    expect(a.rtcpPort).toBe(a.rtpPort + 1);
    const atB: RtcpPacket[][] = [];
    b.on('rtcp', (p) => atB.push(p));
    // Keep media flowing from A until B has seen an SR from A and A has a report about its stream.
    const feeder = setInterval(() => a.sendFrame(Buffer.alloc(160), 160), 20);
    try {
      await waitFor(() => atB.some((c) => c[0].type === 'sr') && a.rtcp.remote !== null, 'SR at B and RR at A');
    } finally {
      clearInterval(feeder);
    }
    const sr = atB.find((c) => c[0].type === 'sr')!;
    expect(sr[0]).toMatchObject({ type: 'sr', ssrc: a.sender.ssrc });
    expect(sr[1]).toEqual({ type: 'sdes', chunks: [{ ssrc: a.sender.ssrc, items: [{ type: 1, text: 'leg-a' }] }] });
    expect(a.rtcp.remote!.highestSeq).toBeGreaterThan(0);
    expect(b.stats().rtcpReceived).toBeGreaterThan(0);
    expect(b.stats().packetsReceived).toBeGreaterThan(0);

    const bye = new Promise<string | undefined>((resolve) => b.once('bye', resolve));
    a.close('hangup');
    const reason = await bye;
    expect(reason).toBe('hangup');
  });

  it('runs RTP and RTCP on one port with rtcp-mux', async () => {
    const a = await open({ rtcpMux: true, rtcpIntervalMs: 100 });
    const peer = await udp();
    expect(a.rtcpPort).toBe(a.rtpPort);
    a.setRemote({ address: '127.0.0.1', port: peer.address().port, payloadTypes: [0] });
    const rtcp: Buffer[] = [];
    peer.on('message', (m) => {
      if (m[1] >= 192 && m[1] <= 223) rtcp.push(m);
    });
    await waitFor(() => rtcp.length > 0, 'muxed RTCP');
    expect(decodeRtcp(rtcp[0]).ok).toBe(true);
  });

  it('carries a DTMF digit end to end exactly once', async () => {
    const a = await open({ payloadTypes: [0], telephoneEventPt: 101 });
    const b = await open({ payloadTypes: [0], telephoneEventPt: 101 });
    a.setRemote({ address: '127.0.0.1', port: b.rtpPort, payloadTypes: [0], telephoneEventPt: 101 });
    const digits: DtmfEvent[] = [];
    const audio: number[] = [];
    b.on('dtmf', (e) => digits.push(e));
    b.on('rtp', (p) => audio.push(p.sequenceNumber));
    await a.sendDtmf('#', 120);
    // Audio after the digit: once it arrives, every event packet before it has been processed.
    expect(a.sendFrame(Buffer.alloc(160), 160)).toBe(true);
    await waitFor(() => audio.length === 1, 'audio after the digit');
    expect(digits).toHaveLength(1);
    expect(digits[0]).toMatchObject({ digit: '#', durationMs: 120, endSeen: true });
    await expect(a.sendDtmf('x')).rejects.toThrow(TypeError);
  });

  it('emits timeout after the media timeout on the injected clock, but not on hold', async () => {
    const clock = new VirtualClock();
    const ep = await open({ clock, mediaTimeoutMs: 5000, rtcp: false });
    let timeouts = 0;
    ep.on('timeout', () => timeouts++);
    ep.setDirection('sendonly'); // on hold: no media expected
    clock.advance(60_000);
    expect(timeouts).toBe(0);
    ep.setDirection('sendrecv');
    clock.advance(4_000);
    expect(timeouts).toBe(0);
    clock.advance(1_500);
    expect(timeouts).toBe(1);
    clock.advance(60_000);
    expect(timeouts).toBe(1); // once per silence
    ep.close();
    expect(clock.pending()).toBe(0);
  });

  it('releases its ports on close and refuses use afterwards', async () => {
    const ep = await open();
    const closed = new Promise<void>((resolve) => ep.once('close', resolve));
    ep.close();
    await closed;
    ep.close(); // idempotent
    expect(ep.isClosed).toBe(true);
    expect(ep.sendFrame(Buffer.alloc(1), 1)).toBe(false);
    expect(() => ep.setDirection('inactive')).toThrow('closed');
    await waitFor(() => pool.allocated === 0, 'ports back in the pool');
  });
});
