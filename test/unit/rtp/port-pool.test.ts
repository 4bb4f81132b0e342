import { RtpPortAllocation, RtpPortPool } from '../../../src/rtp';
import { ResourceExhaustedError } from '../../../src/util';

/** A range unlikely to collide with other workers: derived from the process id. */
function range(pairs: number): { min: number; max: number } {
  const min = 30000 + ((process.pid * 37) % 10000) * 2;
  return { min, max: min + pairs * 2 - 1 };
}

describe('RtpPortPool', () => {
  const held: RtpPortAllocation[] = [];
  afterEach(() => {
    for (const a of held.splice(0)) a.release();
  });

  it('allocates even RTP ports with RTCP on the next port, until exhausted', async () => {
    const pool = new RtpPortPool({ ...range(3), host: '127.0.0.1' });
    expect(pool.capacity).toBe(3);
    for (;;) {
      try {
        held.push(await pool.allocate());
      } catch (err) {
        expect(err).toBeInstanceOf(ResourceExhaustedError);
        expect((err as ResourceExhaustedError).code).toBe('RTP_PORTS_EXHAUSTED');
        break;
      }
    }
    // Normally all three; a pair bound by another process is skipped.
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(3);
    expect(pool.allocated).toBe(held.length);
    for (const a of held) {
      expect(a.rtpPort % 2).toBe(0);
      expect(a.rtcpPort).toBe(a.rtpPort + 1);
      expect(a.rtpSocket.address().port).toBe(a.rtpPort);
      expect(a.rtcpSocket!.address().port).toBe(a.rtcpPort);
    }
    expect(new Set(held.map((a) => a.rtpPort)).size).toBe(held.length);
  });

  it('returns released ports to the pool', async () => {
    const pool = new RtpPortPool({ ...range(1), host: '127.0.0.1' });
    const a = await pool.allocate();
    await expect(pool.allocate()).rejects.toMatchObject({ code: 'RTP_PORTS_EXHAUSTED' });
    a.release();
    a.release(); // idempotent
    expect(pool.allocated).toBe(0);
    const b = await pool.allocate();
    held.push(b);
    expect(b.rtpPort).toBe(a.rtpPort);
  });

  it('skips a pair whose port is taken and binds only RTP with rtcp-mux', async () => {
    const r = range(2);
    const blocker = new RtpPortPool({ min: r.min, max: r.min + 1, host: '127.0.0.1' });
    const taken = await blocker.allocate();
    held.push(taken);
    const pool = new RtpPortPool({ ...r, host: '127.0.0.1' });
    const a = await pool.allocate({ rtcpMux: true });
    held.push(a);
    expect(a.rtpPort).toBe(r.min + 2);
    expect(a.rtcpSocket).toBeNull();
    await expect(pool.allocate()).rejects.toMatchObject({ code: 'RTP_PORTS_EXHAUSTED' });
  });

  it('rejects an invalid range', () => {
    expect(() => new RtpPortPool({ min: 20000, max: 20000 })).toThrow(TypeError);
    expect(() => new RtpPortPool({ min: 100, max: 200 })).toThrow(TypeError);
    expect(() => new RtpPortPool({ min: 60000, max: 70000 })).toThrow(TypeError);
  });
});
