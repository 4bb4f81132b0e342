import { AiSessionLimiter, type CallApp, type CallAppContext } from '../../../src/call';

function fakeCtx(callId: string): { ctx: CallAppContext; end: () => void } {
  const enders: ((cause: string) => void)[] = [];
  const ctx = {
    callId,
    onEnd: (cb: (cause: string) => void) => {
      enders.push(cb);
      return () => undefined;
    },
  } as unknown as CallAppContext;
  return { ctx, end: () => enders.forEach((cb) => cb('normal-clearing')) };
}

describe('AiSessionLimiter', () => {
  it('hands out at most `limit` slots and emits release when one frees', () => {
    const l = new AiSessionLimiter(2);
    const released: number[] = [];
    l.on('release', (n) => released.push(n));
    expect(l.tryAcquire('a')).toBe(true);
    expect(l.tryAcquire('a')).toBe(false);
    expect(l.tryAcquire('b')).toBe(true);
    expect(l.tryAcquire('c')).toBe(false);
    expect(l.available).toBe(0);
    l.release('a');
    l.release('a');
    expect(released).toEqual([1]);
    expect(l.tryAcquire('c')).toBe(true);
  });

  it('has no limit at 0 and rejects bad limits', () => {
    const l = new AiSessionLimiter(0);
    for (let i = 0; i < 100; i++) expect(l.tryAcquire(`c${i}`)).toBe(true);
    expect(l.available).toBe(Infinity);
    expect(() => new AiSessionLimiter(-1)).toThrow(TypeError);
    expect(() => new AiSessionLimiter(1.5)).toThrow(TypeError);
  });

  it('counts sessions of a wrapped app until their call ends', async () => {
    const l = new AiSessionLimiter(1);
    const started: string[] = [];
    const app: CallApp = { side: 'ai', start: (ctx) => void started.push(ctx.callId) };
    const wrapped = l.wrap(app);
    expect(wrapped.side).toBe('ai');
    const one = fakeCtx('x');
    await wrapped.start(one.ctx);
    expect(started).toEqual(['x']);
    expect(l.inUse).toBe(1);
    expect(l.tryAcquire('y')).toBe(false);
    one.end();
    expect(l.inUse).toBe(0);
    expect(l.tryAcquire('y')).toBe(true);
  });

  it('emits release when the limit grows', () => {
    const l = new AiSessionLimiter(1);
    let n = 0;
    l.on('release', () => n++);
    l.setLimit(3);
    l.setLimit(2);
    expect(n).toBe(1);
    expect(l.max).toBe(2);
  });
});
