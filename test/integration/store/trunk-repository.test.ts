import { SecretCipher, TrunkRepository, isUniqueViolation } from '../../../src/store';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

describe.each(TEST_BACKENDS)('TrunkRepository on %s', (backend) => {
  let t: TestDatabase;
  let repo: TrunkRepository;
  const cipher = SecretCipher.fromSecret('repo-test-secret-repo-test-secret-01');
  beforeAll(async () => {
    t = await createTestDatabase(backend);
    repo = new TrunkRepository(t.db, cipher);
  });
  afterAll(async () => {
    await t.destroy();
  });

  it('creates with column defaults and reads back, password sealed', async () => {
    const created = await repo.create({ name: 'a', proxyAddress: 'sip.a.example', password: 'correct-horse-battery-staple', username: 'u', inboundCidrs: ['192.0.2.0/24'], prefixes: ['+1'] });
    expect(created).toMatchObject({
      name: 'a',
      proxyPort: 5060,
      transport: 'udp',
      hasPassword: true,
      codecs: ['PCMU', 'PCMA'],
      inboundCidrs: ['192.0.2.0/24'],
      prefixes: ['+1'],
      status: 'unknown',
      enabled: true,
    });
    expect(created).not.toHaveProperty('password');
    expect(await repo.get(created.id)).toEqual(created);
    expect(await repo.getByName('a')).toEqual(created);
    expect(await repo.password(created.id)).toBe('correct-horse-battery-staple');
    const raw = await t.db.query<{ password: string }>('SELECT password FROM trunks WHERE id = $1', [created.id]);
    expect(raw.rows[0].password).not.toContain('correct-horse-battery-staple');
  });

  it('updates given fields only and rejects duplicate names', async () => {
    const b = await repo.create({ name: 'b', proxyAddress: 'sip.b.example', priority: 5 });
    const updated = await repo.update(b.id, { weight: 7, codecs: ['PCMA'] });
    expect(updated).toMatchObject({ name: 'b', priority: 5, weight: 7, codecs: ['PCMA'], hasPassword: false });
    const errors = await Promise.all([repo.update(b.id, { name: 'a' }).catch((e: unknown) => e), repo.create({ name: 'b', proxyAddress: 'x' }).catch((e: unknown) => e)]);
    expect(errors.map(isUniqueViolation)).toEqual([true, true]);
  });

  it('lists in route-choice order and records status changes', async () => {
    const list = await repo.list();
    expect(list.map((x) => x.name)).toEqual(['b', 'a']);
    const a = list[1];
    expect(await repo.setStatus(a.id, 'up')).toBe(true);
    const up = await repo.get(a.id);
    expect(up?.status).toBe('up');
    expect(up?.statusChangedAt).toBeInstanceOf(Date);
    await repo.setStatus(a.id, 'up');
    expect((await repo.get(a.id))?.statusChangedAt).toEqual(up?.statusChangedAt);
  });

  it('finds nothing for ids that are not UUIDs, without a database error', async () => {
    expect(await repo.get("1' OR '1'='1")).toBeUndefined();
    expect(await repo.update('nope', { weight: 2 })).toBeUndefined();
    expect(await repo.delete('nope')).toBe(false);
    expect(await repo.password('nope')).toBeUndefined();
  });

  it('deletes', async () => {
    const c = await repo.create({ name: 'c', proxyAddress: 'x' });
    expect(await repo.delete(c.id)).toBe(true);
    expect(await repo.get(c.id)).toBeUndefined();
  });

  it('without a cipher reads records but refuses to touch passwords', async () => {
    const plain = new TrunkRepository(t.db, undefined);
    expect((await plain.list()).length).toBeGreaterThan(0);
    await expect(plain.create({ name: 'd', proxyAddress: 'x', password: 'p' })).rejects.toThrow(TypeError);
  });
});
