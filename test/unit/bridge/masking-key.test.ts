// The pool starts with an all-zero key, then 1 2 3 4: the zero key must be skipped (RFC 6455 §5.3 masking stays on).
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return {
    ...actual,
    randomFillSync: (buf: Buffer): Buffer => {
      buf.fill(7);
      buf.fill(0, 0, 4);
      buf.set([1, 2, 3, 4], 4);
      return buf;
    },
  };
});

import { generateMask } from '../../../src/bridge/bridge-session';

describe('WebSocket masking keys', () => {
  it('never hands ws the all-zero key (ws would then send the reused audio buffer unmasked and uncopied)', () => {
    const mask = Buffer.alloc(4);
    generateMask(mask);
    expect([...mask]).toEqual([1, 2, 3, 4]);
    generateMask(mask);
    expect([...mask]).toEqual([7, 7, 7, 7]);
  });
});
