import { TypedEmitter } from '../../../src/util';

type Events = { dtmf: [digit: string, durationMs: number]; close: [] };

describe('TypedEmitter', () => {
  it('delivers typed arguments', () => {
    const em = new TypedEmitter<Events>();
    const got: [string, number][] = [];
    em.on('dtmf', (d, ms) => got.push([d, ms]));
    expect(em.safeEmit('dtmf', '5', 80)).toBe(true);
    expect(got).toEqual([['5', 80]]);
    expect(em.safeEmit('close')).toBe(false);
  });

  it('safeEmit contains a throwing listener', () => {
    const em = new TypedEmitter<Events>();
    const seen: string[] = [];
    const prev = TypedEmitter.onListenerError;
    TypedEmitter.onListenerError = (event) => seen.push(event);
    try {
      em.on('close', () => {
        throw new Error('boom');
      });
      expect(() => em.safeEmit('close')).not.toThrow();
      expect(seen).toEqual(['close']);
    } finally {
      TypedEmitter.onListenerError = prev;
    }
  });
});
