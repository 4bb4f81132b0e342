import type { Socket } from 'node:dgram';
import { MediaTicker, type MediaTickTarget } from '../../../src/media';
import { RtpSendBatch } from '../../../src/rtp';
import { VirtualClock } from '../../../src/util';
import { FakeSocket, openLeg, sentPackets } from './harness';

describe('RtpSendBatch', () => {
  it('queues while active and sends in order at flush; sends nothing when idle; skips a socket closed meanwhile', () => {
    const batch = new RtpSendBatch();
    expect(batch.active).toBe(false);
    const a = new FakeSocket();
    const closed = {
      send: () => {
        throw new Error('Not running');
      },
    } as unknown as Socket;
    batch.begin();
    batch.push(a as unknown as Socket, Buffer.from('1'), 4000, '127.0.0.1');
    batch.push(closed, Buffer.from('x'), 4002, '127.0.0.1');
    batch.push(a as unknown as Socket, Buffer.from('2'), 4000, '127.0.0.1');
    expect(batch.size).toBe(3);
    expect(a.sent).toHaveLength(0);
    batch.flush();
    expect(batch.active).toBe(false);
    expect(batch.size).toBe(0);
    expect(a.sent.map((s) => s.data.toString())).toEqual(['1', '2']);
    batch.flush();
    expect(a.sent).toHaveLength(2);
  });
});

describe('MediaTicker send phase', () => {
  it("sends the sessions' packets together when the send phase ends, before any receive phase; sends outside a tick leave at once", async () => {
    const clock = new VirtualClock();
    const ticker = new MediaTicker({ clock });
    const a = await openLeg(clock, { ticker });
    const b = await openLeg(clock, { ticker });
    const seen: string[] = [];
    const probe: MediaTickTarget = {
      // Registered last: runs after both sessions' send phases, before the batch is flushed.
      onSendTick: () => seen.push(`send phase end: ${a.socket.sent.length + b.socket.sent.length} sent`),
      onReceiveTick: () => seen.push(`receive: ${a.socket.sent.length + b.socket.sent.length} sent`),
    };
    ticker.add(probe);
    clock.advance(0);
    expect(seen).toEqual(['send phase end: 0 sent', 'receive: 2 sent']);
    expect(sentPackets(a.socket)).toHaveLength(1);
    expect(sentPackets(b.socket)).toHaveLength(1);
    // Audio queued between ticks on an idle stream leaves at once (not held for the next send phase).
    a.session.enqueuePcm(new Int16Array(160).fill(1000));
    expect(sentPackets(a.socket)).toHaveLength(2);
    await a.session.close();
    await b.session.close();
    ticker.close();
  });
});
