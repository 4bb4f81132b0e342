import { IvrMenuSet, ivrMenuSchema, maxOptionLength } from '../../../../src/call/ivr';

describe('IvrMenuSet', () => {
  const good = [
    { name: 'main', prompt: 'main.wav', options: { '1': { type: 'menu', menu: 'sub' }, '2': { type: 'queue', queue: 'q1' } } },
    { name: 'sub', prompt: { text: 'Sub menu' }, options: { '*': { type: 'back' }, '101': { type: 'extension', extension: '101' } } },
  ];

  it('applies defaults and takes the first menu as root', () => {
    const set = IvrMenuSet.from(good);
    expect(set.root).toBe('main');
    expect(set.names).toEqual(['main', 'sub']);
    expect(set.get('main')).toMatchObject({ timeoutS: 5, interDigitTimeoutS: 3, maxRetries: 3, defaultAction: { type: 'hangup' } });
    expect(maxOptionLength(set.get('sub')!)).toBe(3);
    expect(maxOptionLength(set.get('main')!)).toBe(1);
  });

  it('reads a { root, menus } document', () => {
    const r = IvrMenuSet.parseDocument({ root: 'sub', menus: good });
    expect(r.ok && r.set.root).toBe('sub');
  });

  it.each([
    ['unknown sub-menu', [{ name: 'a', prompt: 'a.wav', options: { '1': { type: 'menu', menu: 'zzz' } } }], 'menus.0.options.1.menu'],
    ['unknown menu in a collect fallback', [{ name: 'a', prompt: 'a.wav', defaultAction: { type: 'collect', digits: 2, webhook: 'https://h.example/x', onError: { type: 'menu', menu: 'zzz' } } }], 'menus.0.defaultAction.onError.menu'],
    ['bad option key', [{ name: 'a', prompt: 'a.wav', options: { '1x': { type: 'ai' } } }], 'menus.0.options.1x'],
    ['unknown field', [{ name: 'a', prompt: 'a.wav', timeout: 5 }], 'menus.0'],
    ['unknown action', [{ name: 'a', prompt: 'a.wav', options: { '1': { type: 'dance' } } }], 'menus.0.options.1'],
    ['bad number', [{ name: 'a', prompt: 'a.wav', options: { '1': { type: 'number', number: '555-CALL' } } }], 'menus.0.options.1'],
    ['non-http webhook', [{ name: 'a', prompt: 'a.wav', options: { '1': { type: 'collect', digits: 4, webhook: 'file:///etc/passwd' } } }], 'menus.0.options.1'],
    ['minDigits above digits', [{ name: 'a', prompt: 'a.wav', options: { '1': { type: 'collect', digits: 2, minDigits: 3, webhook: 'https://h.example/x' } } }], 'menus.0.options.1'],
    ['duplicate name', [{ name: 'a', prompt: 'a.wav' }, { name: 'a', prompt: 'b.wav' }], 'menus.1.name'],
    ['empty set', [], 'menus'],
  ])('rejects %s', (_name, menus, path) => {
    const r = IvrMenuSet.parse(menus);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContainEqual(expect.stringContaining(path));
  });

  it('rejects an unknown root', () => {
    const r = IvrMenuSet.parse(good, 'nope');
    expect(r).toEqual({ ok: false, issues: [{ path: 'root', message: 'unknown menu "nope"' }] });
    expect(() => IvrMenuSet.from(good, 'nope')).toThrow(/root: unknown menu/);
  });

  it('accepts every prompt form', () => {
    for (const prompt of ['a.wav', { file: '/abs/a.wav' }, { text: 'Hello', voice: 'en-us' }]) {
      expect(ivrMenuSchema.safeParse({ name: 'm', prompt }).success).toBe(true);
    }
    expect(ivrMenuSchema.safeParse({ name: 'm', prompt: { text: '   ' } }).success).toBe(false);
    expect(ivrMenuSchema.safeParse({ name: 'm', prompt: { text: 'x', voice: 'en; rm -rf /' } }).success).toBe(false);
  });
});
