import { InvalidCursorError, SmsRepository, type NewOutboundSms } from '../../../src/store';
import { TEST_BACKENDS, createTestDatabase, type TestDatabase } from '../../helpers/db';

let seq = 0;
/** Numbers unique per test so tests sharing a database never see each other's rows. */
function num(): string {
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++seq).padStart(4, '0')}`;
}

describe.each(TEST_BACKENDS)('SmsRepository on %s', (backend) => {
  let t: TestDatabase;
  let repo: SmsRepository;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    repo = new SmsRepository(t.db);
  }, 60_000);
  afterAll(async () => {
    await t?.destroy();
  });

  const outbound = (over: Partial<NewOutboundSms> = {}): NewOutboundSms => ({
    fromNumber: num(),
    toNumber: num(),
    body: 'hello 😀',
    segments: 1,
    encoding: 'UCS-2',
    ...over,
  });

  it('enqueues as queued and due now, and reads it back by id', async () => {
    const rec = await repo.enqueue(outbound({ maxAttempts: 3, metadata: { campaign: 'x' } }));
    expect(rec).toMatchObject({ direction: 'outbound', status: 'queued', attempts: 0, maxAttempts: 3, segments: 1, encoding: 'UCS-2', body: 'hello 😀' });
    expect(rec.nextAttemptAt).toBeInstanceOf(Date);
    const got = await repo.get(rec.id);
    expect(got?.metadata).toEqual({ campaign: 'x' });
    expect(await repo.get('not-a-uuid')).toBeUndefined();
    expect(await repo.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('claims due messages once, counts the attempt and fences outcomes by the lease', async () => {
    const rec = await repo.enqueue(outbound());
    const claimed = (await repo.claimDue('inst-a', 1000, 60_000)).filter((r) => r.id === rec.id);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({ status: 'sending', lockedBy: 'inst-a', attempts: 1 });
    // Leased: nobody else gets it.
    expect((await repo.claimDue('inst-b', 1000, 60_000)).some((r) => r.id === rec.id)).toBe(false);
    // Only the lease holder may write the outcome.
    expect(await repo.markSent(rec.id, 'inst-b', { sipCode: 200 })).toBeUndefined();
    const sent = await repo.markSent(rec.id, 'inst-a', { sipCode: 202, sipCallId: 'sms-1@x' });
    expect(sent).toMatchObject({ status: 'sent', sipCode: 202, sipCallId: 'sms-1@x', lockedBy: null, nextAttemptAt: null });
    expect(sent?.sentAt).toBeInstanceOf(Date);
  });

  it('makes a message with an expired lease claimable again (crashed worker)', async () => {
    const rec = await repo.enqueue(outbound());
    expect((await repo.claimDue('crashed', 1000, 1)).some((r) => r.id === rec.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    const again = (await repo.claimDue('survivor', 1000, 60_000)).find((r) => r.id === rec.id);
    expect(again).toMatchObject({ lockedBy: 'survivor', attempts: 2 });
    // The crashed worker's late write is refused.
    expect(await repo.markFailed(rec.id, 'crashed', { sipCode: 500 })).toBeUndefined();
  });

  it('queues again, due now, the messages an instance left sending when it died, and no one else’s', async () => {
    const mine = [await repo.enqueue(outbound()), await repo.enqueue(outbound())];
    await repo.claimDue('restarting', 1000, 60_000);
    const theirs = await repo.enqueue(outbound());
    expect((await repo.claimDue('still-running', 1000, 60_000)).some((r) => r.id === theirs.id)).toBe(true);
    expect(await repo.releaseLeases('restarting')).toBeGreaterThanOrEqual(2);
    for (const m of mine) expect(await repo.get(m.id)).toMatchObject({ status: 'queued', attempts: 1, lockedBy: null });
    expect(await repo.get(theirs.id)).toMatchObject({ status: 'sending', lockedBy: 'still-running' });
    // Claimable at once, although the old 60 s lease would not have run out yet.
    const again = (await repo.claimDue('restarting', 1000, 60_000)).filter((r) => mine.some((m) => m.id === r.id));
    expect(again.map((r) => r.attempts)).toEqual([2, 2]);
    expect(await repo.releaseLeases('nobody')).toBe(0);
  });

  it('schedules a retry in the future and fails for good', async () => {
    const rec = await repo.enqueue(outbound());
    await repo.claimDue('w', 1000, 60_000);
    const retry = await repo.scheduleRetry(rec.id, 'w', 3_600_000, { sipCode: 503, error: '503 Service Unavailable' });
    expect(retry).toMatchObject({ status: 'queued', sipCode: 503, lastError: '503 Service Unavailable', lockedBy: null });
    // Not due for an hour.
    expect((await repo.claimDue('w', 1000, 60_000)).some((r) => r.id === rec.id)).toBe(false);
    expect(retry!.nextAttemptAt!.getTime()).toBeGreaterThan(retry!.updatedAt.getTime());
    const other = await repo.enqueue(outbound());
    await repo.claimDue('w', 1000, 60_000);
    expect(await repo.markFailed(other.id, 'w', { sipCode: 404, error: '404 Not Found' })).toMatchObject({ status: 'failed', sipCode: 404 });
  });

  it('records acknowledged segments and renews the lease', async () => {
    const rec = await repo.enqueue(outbound({ segments: 3 }));
    const [claimed] = (await repo.claimDue('seg', 1000, 60_000)).filter((r) => r.id === rec.id);
    expect(await repo.recordSegmentsSent(rec.id, 'seg', 2, 120_000, 'cid')).toBe(true);
    const after = await repo.get(rec.id);
    expect(after?.segmentsSent).toBe(2);
    expect(after!.lockedUntil!.getTime()).toBeGreaterThan(claimed.lockedUntil!.getTime());
    expect(await repo.recordSegmentsSent(rec.id, 'other', 3, 1000)).toBe(false);
  });

  it('applies delivery receipts to sent (or sending) outbound messages only', async () => {
    const rec = await repo.enqueue(outbound());
    expect(await repo.recordReceipt(rec.id, true)).toBeUndefined(); // still queued: not sent yet
    await repo.claimDue('r', 1000, 60_000);
    await repo.markSent(rec.id, 'r', { sipCode: 200 });
    const delivered = await repo.recordReceipt(rec.id, true);
    expect(delivered).toMatchObject({ status: 'delivered' });
    expect(delivered?.deliveredAt).toBeInstanceOf(Date);
    expect(await repo.recordReceipt(rec.id, false, 'late failure')).toBeUndefined();
    const neg = await repo.enqueue(outbound());
    await repo.claimDue('r', 1000, 60_000);
    expect(await repo.recordReceipt(neg.id, false, 'absent subscriber')).toMatchObject({ status: 'failed', lastError: 'absent subscriber' });
  });

  it('stores inbound messages as received', async () => {
    const rec = await repo.insertInbound({ fromNumber: num(), toNumber: num(), body: 'hi', segments: 1, encoding: 'GSM-7', sipCallId: 'abc@trunk' });
    expect(rec).toMatchObject({ direction: 'inbound', status: 'received', nextAttemptAt: null, sipCallId: 'abc@trunk' });
    // Inbound messages are never claimed for sending.
    expect((await repo.claimDue('x', 1000, 60_000)).some((r) => r.id === rec.id)).toBe(false);
  });

  it('reassembles inbound parts in order once all arrived, ignoring duplicates', async () => {
    const from = num();
    const to = num();
    const part = (seqNo: number, body: string) => ({ fromNumber: from, toNumber: to, ref: 77, total: 3, seq: seqNo, body, encoding: 'GSM-7' as const });
    expect(await repo.addInboundPart(part(3, 'three'))).toBeUndefined();
    expect(await repo.addInboundPart(part(1, 'one-'))).toBeUndefined();
    expect(await repo.addInboundPart(part(1, 'one-'))).toBeUndefined();
    const whole = await repo.addInboundPart({ ...part(2, 'two😀-'), encoding: 'UCS-2' });
    expect(whole).toMatchObject({ body: 'one-two😀-three', segments: 3, encoding: 'UCS-2', status: 'received', metadata: { concat: { ref: 77, total: 3, received: 3 } } });
    // The set is gone: a late duplicate starts a new incomplete set instead of a second copy.
    expect(await repo.addInboundPart(part(1, 'one-'))).toBeUndefined();
  });

  it('stores overdue incomplete sets marked with their missing parts', async () => {
    const from = num();
    const to = num();
    await repo.addInboundPart({ fromNumber: from, toNumber: to, ref: 9, total: 4, seq: 1, body: 'a', encoding: 'GSM-7' });
    await repo.addInboundPart({ fromNumber: from, toNumber: to, ref: 9, total: 4, seq: 3, body: 'c', encoding: 'GSM-7' });
    expect((await repo.expireInboundParts(3_600_000)).some((r) => r.fromNumber === from)).toBe(false);
    await new Promise((r) => setTimeout(r, 10));
    const expired = (await repo.expireInboundParts(1)).filter((r) => r.fromNumber === from);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ body: 'ac', segments: 4, metadata: { incomplete: true, missingParts: [2, 4], concat: { received: 2 } } });
  });

  it('lists history newest first with filters and keyset pagination', async () => {
    const mine = num();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await repo.enqueue(outbound({ fromNumber: mine, body: `m${i}` }))).id);
    const inbound = await repo.insertInbound({ fromNumber: num(), toNumber: mine, body: 'in', segments: 1, encoding: 'GSM-7' });
    const p1 = await repo.list({ number: mine, limit: 4 });
    expect(p1.items).toHaveLength(4);
    expect(p1.nextCursor).not.toBeNull();
    const p2 = await repo.list({ number: mine, limit: 4, cursor: p1.nextCursor! });
    expect(p2.items).toHaveLength(2);
    expect(p2.nextCursor).toBeNull();
    // Newest first across both pages, no row missing or repeated (rows of one clock tick tie-break on id).
    const seen = [...p1.items, ...p2.items];
    for (let i = 1; i < seen.length; i++) expect(seen[i].createdAt.getTime()).toBeLessThanOrEqual(seen[i - 1].createdAt.getTime());
    expect(new Set(seen.map((r) => r.id))).toEqual(new Set([...ids, inbound.id]));
    expect((await repo.list({ number: mine, direction: 'inbound' })).items.map((r) => r.id)).toEqual([inbound.id]);
    expect((await repo.list({ number: mine, status: ['queued'] })).items).toHaveLength(5);
    expect((await repo.list({ number: mine, from: new Date(Date.now() + 3_600_000) })).items).toHaveLength(0);
    await expect(repo.list({ cursor: 'garbage' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('enqueues many in one statement, in input order', async () => {
    const items = [outbound({ body: 'a' }), outbound({ body: 'b', webhookUrl: 'https://hooks.example/x', metadata: { k: 1 } }), outbound({ body: 'c' })];
    const recs = await repo.enqueueMany(items);
    expect(recs.map((r) => r.body)).toEqual(['a', 'b', 'c']);
    expect(recs[1]).toMatchObject({ status: 'queued', webhookUrl: 'https://hooks.example/x', metadata: { k: 1 }, trunkId: null });
    expect(recs[0].webhookUrl).toBeNull();
    expect(await repo.enqueueMany([])).toEqual([]);
    // An unknown trunk violates the foreign key: nothing of the batch is stored.
    const bad = [outbound({ body: 'd' }), outbound({ body: 'e', trunkId: '00000000-0000-4000-8000-00000000dead' })];
    await expect(repo.enqueueMany(bad)).rejects.toThrow();
    expect((await repo.list({ number: bad[0].fromNumber })).items).toHaveLength(0);
  });

  it('marks many sent in one statement, fenced by the lease', async () => {
    const [a, b] = await repo.enqueueMany([outbound(), outbound()]);
    await repo.claimDue('many', 1000, 60_000);
    const out = await repo.markSentMany('many', [
      { id: a.id, result: { sipCode: 200, sipCallId: 'cid-a' } },
      { id: '00000000-0000-4000-8000-000000000001', result: { sipCode: 200 } },
      { id: b.id, result: { sipCode: 202 } },
    ]);
    expect(out[0]).toMatchObject({ id: a.id, status: 'sent', sipCode: 200, sipCallId: 'cid-a' });
    expect(out[1]).toBeUndefined();
    expect(out[2]).toMatchObject({ id: b.id, status: 'sent', sipCode: 202 });
    expect(await repo.markSentMany('many', [{ id: a.id, result: { sipCode: 200 } }])).toEqual([undefined]);
  });

  it('reports the queue depth', async () => {
    const before = await repo.queueDepth();
    await repo.enqueue(outbound());
    expect(await repo.queueDepth()).toBe(before + 1);
  });
});
