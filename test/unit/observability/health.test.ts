import { VirtualClock } from '../../../src/util';
import { HealthChecker } from '../../../src/observability';

describe('HealthChecker', () => {
  it('is ok with no checks and when every check is ok', async () => {
    const h = new HealthChecker();
    expect(await h.run()).toEqual({ status: 'ok', checks: {} });
    h.register('database', () => ({ status: 'ok' }));
    h.register('sip', async () => ({ status: 'ok', detail: 'udp,tcp' }));
    expect(await h.run()).toEqual({
      status: 'ok',
      checks: { database: { status: 'ok', critical: true }, sip: { status: 'ok', detail: 'udp,tcp', critical: true } },
    });
  });

  it('is down when a critical check fails or throws, degraded for non-critical failures', async () => {
    const h = new HealthChecker();
    h.register('trunks', () => ({ status: 'down', detail: '0/2 up' }), { critical: false });
    expect((await h.run()).status).toBe('degraded');
    h.register('database', async () => {
      throw new Error('connection refused');
    });
    const report = await h.run();
    expect(report.status).toBe('down');
    expect(report.checks['database']).toEqual({ status: 'down', detail: 'connection refused', critical: true });
    h.unregister('database');
    expect((await h.run()).status).toBe('degraded');
  });

  it('counts a check that never answers as down after the timeout', async () => {
    const clock = new VirtualClock();
    const h = new HealthChecker({ clock, timeoutMs: 1000 });
    h.register('stuck', () => new Promise(() => undefined));
    const pending = h.run();
    await Promise.resolve();
    clock.advance(1000);
    const report = await pending;
    expect(report.status).toBe('down');
    expect(report.checks['stuck'].detail).toContain('timed out');
    expect(clock.pending()).toBe(0);
  });

  it('refuses duplicate names', () => {
    const h = new HealthChecker();
    h.register('x', () => ({ status: 'ok' }));
    expect(() => h.register('x', () => ({ status: 'ok' }))).toThrow(TypeError);
  });
});
