import { RtpEndpoint, type RtpPacket } from '../../../src/rtp';
import { TypedEmitter, VirtualClock } from '../../../src/util';
import { FakePool, rtp } from '../media/harness';

async function open(clock: VirtualClock): Promise<{ ep: RtpEndpoint; pool: FakePool }> {
  const pool = new FakePool();
  const ep = await RtpEndpoint.open({ pool: pool.asPool(), clock, rtcp: false, payloadTypes: [0], telephoneEventPt: 101 });
  return { ep, pool };
}

describe('RtpEndpoint audio sink', () => {
  it('gets each accepted audio packet with its arrival time before the rtp listeners; events and rejects never reach it', async () => {
    const clock = new VirtualClock();
    const { ep, pool } = await open(clock);
    const order: string[] = [];
    ep.setAudioSink((p: RtpPacket, at: number) => order.push(`sink ${p.sequenceNumber} @${at}`));
    ep.on('rtp', (p) => order.push(`rtp ${p.sequenceNumber}`));
    const sock = pool.sockets[0];
    clock.advance(5);
    sock.receive(rtp(0, 1, 160, new Uint8Array(160)));
    clock.advance(20);
    sock.receive(rtp(0, 2, 320, new Uint8Array(160)));
    sock.receive(rtp(101, 3, 480, new Uint8Array([1, 10, 0, 160]))); // RFC 4733 event: not audio
    sock.receive(rtp(9, 4, 480, new Uint8Array(160))); // not negotiated
    sock.receive(rtp(0, 5, 640, new Uint8Array(160)), 40002); // foreign source after latching
    expect(order).toEqual(['sink 1 @5', 'rtp 1', 'sink 2 @25', 'rtp 2']);
    ep.close();
    expect(ep.usesClock(clock)).toBe(true);
    expect(ep.usesClock(new VirtualClock())).toBe(false);
  });

  it('works without rtp listeners, reports a throwing sink like a listener, and is dropped at close', async () => {
    const clock = new VirtualClock();
    const { ep, pool } = await open(clock);
    const seen: number[] = [];
    const errors: string[] = [];
    const saved = TypedEmitter.onListenerError;
    TypedEmitter.onListenerError = (event, err) => errors.push(`${event}: ${(err as Error).message}`);
    try {
      ep.setAudioSink((p) => {
        seen.push(p.sequenceNumber);
        if (p.sequenceNumber === 2) throw new Error('boom');
      });
      const sock = pool.sockets[0];
      for (let s = 1; s <= 3; s++) sock.receive(rtp(0, s, s * 160, new Uint8Array(160)));
      expect(seen).toEqual([1, 2, 3]);
      expect(errors).toEqual(['rtp: boom']);
      expect(ep.stats().packetsReceived).toBe(3);
      ep.close();
      sock.receive(rtp(0, 4, 640, new Uint8Array(160)));
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      TypedEmitter.onListenerError = saved;
    }
  });
});
