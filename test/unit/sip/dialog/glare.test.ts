import { glareRetryDelayMs, retryAfterSeconds } from '../../../../src/sip/dialog';

describe('glareRetryDelayMs (RFC 3261 §14.1)', () => {
  const cases: [name: string, owner: boolean, random: number, expected: number][] = [
    ['owner, lowest draw', true, 0, 2100],
    ['owner, middle draw', true, 0.5, 3050],
    ['owner, highest draw', true, 0.999999, 4000],
    ['owner, random() === 1 is clamped', true, 1, 4000],
    ['non-owner, lowest draw', false, 0, 0],
    ['non-owner, middle draw', false, 0.5, 1000],
    ['non-owner, highest draw', false, 0.999999, 2000],
    ['non-owner, random() === 1 is clamped', false, 1, 2000],
  ];
  it.each(cases)('%s', (_name, owner, random, expected) => {
    expect(glareRetryDelayMs(owner, () => random)).toBe(expected);
  });

  it('stays in range and in units of 10 ms over many draws', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 2000; i++) {
      const owner = glareRetryDelayMs(true, random);
      expect(owner).toBeGreaterThanOrEqual(2100);
      expect(owner).toBeLessThanOrEqual(4000);
      expect(owner % 10).toBe(0);
      const other = glareRetryDelayMs(false, random);
      expect(other).toBeGreaterThanOrEqual(0);
      expect(other).toBeLessThanOrEqual(2000);
      expect(other % 10).toBe(0);
    }
  });
});

describe('retryAfterSeconds (RFC 3261 §14.2)', () => {
  it.each([
    [0, 0],
    [0.5, 5],
    [0.999, 10],
    [1, 10],
  ])('random %p gives %p s', (random, expected) => {
    expect(retryAfterSeconds(() => random)).toBe(expected);
  });
});
