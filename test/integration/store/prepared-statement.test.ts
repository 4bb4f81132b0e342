import { createRepositories, type PreparedQuery } from '../../../src/store';
import { sqlLiterals } from '../../../src/store/pglite-database';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

// Statements prepared once per connection (the CDR batch runs this way): PGlite runs them as PREPARE + EXECUTE with
// the parameters written as literals, so every text must arrive exactly as sent, whatever it holds.

const TEXTS = [
  'plain',
  '',
  "it's quoted",
  'back\\slash \\n not a newline',
  'line\nbreak\ttab\r',
  'ends in $p',
  'has $p$ the tag',
  '$p$',
  '$p$$p1$$p2$ several tags',
  '$$ and $ and $$p$$',
  '{"json": "with \\"escapes\\"", "n": [1, 2]}',
  'unicode: \u00e9\u00e8 \u4e2d\u6587 \u{1F600}',
  ');DROP TABLE prepared_kv;--',
];

describe.each(TEST_BACKENDS)('prepared statements on %s', (backend) => {
  let t: TestDatabase;
  const insert: PreparedQuery = { name: 'prepared_kv_insert', text: 'INSERT INTO prepared_kv (k, v, n, b) VALUES ($1::text, $2::text, $3::double precision, $4::boolean)' };

  beforeAll(async () => {
    t = await createTestDatabase(backend, { migrate: false });
    await t.db.exec('CREATE TABLE prepared_kv (k text PRIMARY KEY, v text, n double precision, b boolean)');
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  it('writes every text verbatim, run after run of the same statement', async () => {
    const run = t.db.runPrepared?.bind(t.db);
    expect(run).toBeDefined();
    for (let i = 0; i < TEXTS.length; i++) await run!(insert, [`k${i}`, TEXTS[i], i + 0.5, i % 2 === 0]);
    const res = await t.db.query<{ k: string; v: string; n: number; b: boolean }>('SELECT k, v, n, b FROM prepared_kv ORDER BY n');
    expect(res.rows).toEqual(TEXTS.map((v, i) => ({ k: `k${i}`, v, n: i + 0.5, b: i % 2 === 0 })));
  });

  it('writes NULL and extreme numbers, and takes the parameter path for a text it cannot quote (NUL)', async () => {
    await t.db.runPrepared!(insert, ['null', null, null, null]);
    await t.db.runPrepared!(insert, ['nul-free', 'a\u0001b', -1e21, false]);
    const rows = (await t.db.query<{ k: string; v: string | null; n: number | null }>("SELECT k, v, n FROM prepared_kv WHERE k IN ('null', 'nul-free') ORDER BY k")).rows;
    expect(rows).toEqual([
      { k: 'nul-free', v: 'a\u0001b', n: -1e21 },
      { k: 'null', v: null, n: null },
    ]);
    // PostgreSQL text cannot hold NUL: the statement fails as a parameterised query would, with an SQLSTATE.
    await expect(t.db.runPrepared!(insert, ['nul', 'a\u0000b', 1, true])).rejects.toHaveProperty('code');
  });

  it('reports a failing execution with its SQLSTATE and stays usable', async () => {
    await expect(t.db.runPrepared!(insert, ['k0', 'duplicate', 0, true])).rejects.toMatchObject({ code: '23505' });
    await t.db.runPrepared!(insert, ['after-error', 'ok', 99, true]);
    const res = await t.db.query<{ v: string }>("SELECT v FROM prepared_kv WHERE k = 'after-error'");
    expect(res.rows).toEqual([{ v: 'ok' }]);
  });
});

describe.each(TEST_BACKENDS)('CDR batch through the prepared statement on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(backend);
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  it('gives every inserted CDR its own UUID, by which it reads back', async () => {
    const repos = createRepositories(t.db);
    const ids = Array.from({ length: 5 }, (_, i) => `prepared-${i}@batch`);
    // Twice: the first batch prepares the statement, the next ones only execute it.
    for (const chunk of [ids.slice(0, 2), ids.slice(2)]) {
      await repos.calls.writeBatch(
        chunk.map((callId) => ({ callId, create: { callId, instanceId: 'prep', direction: 'inbound' as const, fromNumber: 'a', toNumber: 'b' }, events: [{ type: 'initiated' }] })),
      );
    }
    const rows = await Promise.all(ids.map((id) => repos.calls.getByCallId(id)));
    const uuids = rows.map((r) => r?.id);
    expect(new Set(uuids).size).toBe(ids.length);
    for (const [i, uuid] of uuids.entries()) {
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await repos.calls.getById(uuid as string))?.callId).toBe(ids[i]);
    }
  });
});

describe('sqlLiterals', () => {
  it('quotes texts so that the tag first occurs where the text ends', () => {
    expect(sqlLiterals(['abc'])).toBe('$p$abc$p$');
    expect(sqlLiterals(['x$p'])).toBe('$p1$x$p$p1$');
    expect(sqlLiterals(['$p$'])).toBe('$p1$$p$$p1$');
    expect(sqlLiterals([null, 1.5, true, false])).toBe('NULL, 1.5, TRUE, FALSE');
  });

  it('refuses what it cannot write as a literal', () => {
    expect(sqlLiterals(['a\u0000b'])).toBeUndefined();
    expect(sqlLiterals([Number.NaN])).toBeUndefined();
    expect(sqlLiterals([Number.POSITIVE_INFINITY])).toBeUndefined();
    expect(sqlLiterals([new Date(0)])).toBeUndefined();
    expect(sqlLiterals([Buffer.from('x')])).toBeUndefined();
    expect(sqlLiterals([['a']])).toBeUndefined();
  });
});
