import { dialStringFor, matchPrefix, orderRoutes, type RoutableTrunk } from '../../../src/trunks';

function trunk(id: string, prefixes: string[], priority = 100, weight = 1): RoutableTrunk {
  return { id, prefixes, priority, weight };
}

/** A deterministic random source cycling through `values`. */
function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

describe('matchPrefix', () => {
  it('takes the longest matching prefix, any number for an empty list, and undefined when none matches', () => {
    expect(matchPrefix(['+1', '+1415'], '+14155550100')).toBe('+1415');
    expect(matchPrefix([], '+14155550100')).toBe('');
    expect(matchPrefix(['+44'], '+14155550100')).toBeUndefined();
  });
  it('treats a leading + as optional on either side', () => {
    expect(matchPrefix(['1415'], '+14155550100')).toBe('1415');
    expect(matchPrefix(['+1415'], '14155550100')).toBe('+1415');
  });
});

describe('orderRoutes', () => {
  it('orders by longest prefix, then priority; trunks not serving the number are left out', () => {
    const trunks = [trunk('any', [], 1), trunk('us', ['+1'], 50), trunk('sf-backup', ['+1415'], 20), trunk('sf', ['+1415'], 10), trunk('uk', ['+44'], 1)];
    expect(orderRoutes(trunks, '+14155550100', seq([0.5])).map((m) => m.trunk.id)).toEqual(['sf', 'sf-backup', 'us', 'any']);
    expect(orderRoutes(trunks, '+442071234567', seq([0.5])).map((m) => [m.trunk.id, m.prefix])).toEqual([
      ['uk', '+44'],
      ['any', ''],
    ]);
  });

  it('shares first place within a priority in proportion to the weights', () => {
    const trunks = [trunk('heavy', [], 10, 3), trunk('light', [], 10, 1), trunk('backup', [], 20, 100)];
    const first = new Map<string, number>();
    // A fixed pseudo-random sequence (LCG) keeps the test deterministic.
    let x = 12345;
    const random = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    for (let i = 0; i < 4000; i++) {
      const order = orderRoutes(trunks, '+15550001111', random).map((m) => m.trunk.id);
      expect(order[2]).toBe('backup');
      first.set(order[0], (first.get(order[0]) ?? 0) + 1);
    }
    const share = (first.get('heavy') ?? 0) / 4000;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
  });
});

describe('dialStringFor', () => {
  it('strips leading characters and prepends the dial prefix', () => {
    expect(dialStringFor({ stripDigits: 1, dialPrefix: '00' }, '+442071234567')).toBe('00442071234567');
    expect(dialStringFor({ stripDigits: 0, dialPrefix: '' }, '+15550001111')).toBe('+15550001111');
    expect(dialStringFor({ stripDigits: 99, dialPrefix: '9' }, '123')).toBe('9');
  });
});
