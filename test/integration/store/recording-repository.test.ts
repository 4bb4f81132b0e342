import { CallRepository, InvalidCursorError, RecordingRepository } from '../../../src/store';
import { createTestDatabase, TEST_BACKENDS, type TestDatabase } from '../../helpers/db';

// RecordingRepository on both backends: create, complete (CDR link), fail, delete, keyset pages, crash recovery.

describe.each(TEST_BACKENDS)('RecordingRepository (%s)', (backend) => {
  let t: TestDatabase;
  let recs: RecordingRepository;
  let calls: CallRepository;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    recs = new RecordingRepository(t.db);
    calls = new CallRepository(t.db);
    await calls.create({ callId: 'call-1', instanceId: 'i1', direction: 'inbound', fromNumber: '+1555', toNumber: '+1666', status: 'answered', startedAt: new Date() });
  }, 60_000);

  afterAll(async () => {
    await t?.destroy();
  });

  const base = { callId: 'call-1', filePath: '/rec/a.wav', fileName: 'a.wav', channels: 2 as const, sampleRate: 8000, layout: 'caller-left' as const, source: 'number' as const, instanceId: 'i1' };

  it('completes a recording once and links the CDR to it', async () => {
    const r = await recs.create(base);
    expect(r).toMatchObject({ status: 'recording', channels: 2, source: 'number', fileName: 'a.wav', durationS: null });
    const done = await recs.complete(r.id, { durationS: 12.5, sizeBytes: 400_044, endedAt: new Date() });
    expect(done).toMatchObject({ status: 'completed', durationS: 12.5, sizeBytes: 400_044 });
    expect(await recs.complete(r.id, { durationS: 1, sizeBytes: 1, endedAt: new Date() })).toBeUndefined();
    expect((await calls.getByCallId('call-1'))?.recordingId).toBe(r.id);
    expect(await recs.get('not-a-uuid')).toBeUndefined();
  });

  it('fails, deletes and lists newest first with keyset pages', async () => {
    const failed = await recs.create({ ...base, fileName: 'b.wav', filePath: '/rec/b.wav', startedAt: new Date(Date.now() + 1000) });
    expect(await recs.fail(failed.id, 'disk full')).toMatchObject({ status: 'failed', error: 'disk full' });
    const third = await recs.create({ ...base, fileName: 'c.wav', filePath: '/rec/c.wav', startedAt: new Date(Date.now() + 2000) });
    expect(await recs.markDeleted(third.id)).toBe(true);
    expect(await recs.markDeleted(third.id)).toBe(false);
    const page1 = await recs.list({ limit: 1 });
    expect(page1.items.map((r) => r.fileName)).toEqual(['b.wav']);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await recs.list({ limit: 1, cursor: page1.nextCursor ?? undefined });
    expect(page2.items.map((r) => r.fileName)).toEqual(['a.wav']);
    expect(page2.nextCursor).toBeNull();
    expect((await recs.list({ status: 'deleted' })).items.map((r) => r.fileName)).toEqual(['c.wav']);
    expect((await recs.listByCall('call-1')).map((r) => r.fileName)).toEqual(['a.wav', 'b.wav', 'c.wav']);
    await expect(recs.list({ cursor: 'junk' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('fails the recordings an instance left open', async () => {
    const open = await recs.create({ ...base, instanceId: 'crashed' });
    expect(await recs.failOpen('crashed')).toBe(1);
    expect(await recs.get(open.id)).toMatchObject({ status: 'failed', error: 'server-restart' });
  });
});
