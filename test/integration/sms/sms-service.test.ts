import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { SmsService, SmsValidationError, type SmsSender } from '../../../src/sms';
import { createRepositories } from '../../../src/store';
import { InvalidStateError } from '../../../src/util';

// SmsService.accept / get / history on PGlite (no worker running: the queue only).

let t: TestDatabase;
let svc: SmsService;
const unused: SmsSender = { send: async () => ({ status: 0, reason: 'unused' }) };

beforeAll(async () => {
  t = await createTestDatabase('pglite');
  svc = new SmsService({ repositories: createRepositories(t.db), sender: unused, instanceId: 'svc-test', maxSegments: 3, retry: { maxAttempts: 7 } });
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await t?.destroy();
});

it('accepts a message as queued with its segments and encoding, readable by id', async () => {
  const a = await svc.accept({ from: '+15551110000', to: '+15552220000', body: 'x'.repeat(161), metadata: { order: 'A1' } });
  expect(a).toMatchObject({ status: 'queued', segments: 2, encoding: 'GSM-7' });
  const v = await svc.get(a.id);
  expect(v).toMatchObject({ id: a.id, direction: 'outbound', status: 'queued', attempts: 0, maxAttempts: 7, segments: 2, encoding: 'GSM-7', metadata: { order: 'A1' } });
  expect(await svc.get('nope')).toBeUndefined();
});

it.each([
  ['from', { from: '', to: '+1555', body: 'x' }],
  ['to', { from: '+1555', to: 'not a number', body: 'x' }],
  ['message', { from: '+1555', to: '+1556', body: '' }],
  ['message', { from: '+1555', to: '+1556', body: '😀'.repeat(150) }],
  ['trunk_id', { from: '+1555', to: '+1556', body: 'x', trunkId: '42' }],
  ['webhook_url', { from: '+1555', to: '+1556', body: 'x', webhookUrl: 'ftp://x' }],
])('refuses bad %s with SmsValidationError', async (field, input) => {
  const err = await svc.accept(input).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SmsValidationError);
  expect((err as SmsValidationError).field).toBe(field);
  expect((err as SmsValidationError).code).toBe('SMS_INVALID');
});

it('refuses only the request naming an unknown trunk when accepts are batched together', async () => {
  const results = await Promise.allSettled([
    svc.accept({ from: '+15553330000', to: '+15554440001', body: 'ok 1' }),
    svc.accept({ from: '+15553330000', to: '+15554440002', body: 'bad', trunkId: '00000000-0000-4000-8000-00000000beef' }),
    svc.accept({ from: '+15553330000', to: '+15554440003', body: 'ok 2' }),
    svc.accept({ from: '+15553330000', to: '+15554440004', body: 'ok 3' }),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  const page = await svc.history({ number: '+15553330000' });
  expect(page.items.map((m) => m.body).sort()).toEqual(['ok 1', 'ok 2', 'ok 3']);
});

it('pages history with filters', async () => {
  for (let i = 0; i < 3; i++) await svc.accept({ from: '+15556660000', to: `+1555777000${i}`, body: `h${i}` });
  const p1 = await svc.history({ number: '+15556660000', limit: 2, direction: 'outbound', status: 'queued' });
  expect(p1.items.map((m) => m.body)).toEqual(['h2', 'h1']);
  const p2 = await svc.history({ number: '+15556660000', limit: 2, cursor: p1.nextCursor! });
  expect(p2.items.map((m) => m.body)).toEqual(['h0']);
  expect(p2.nextCursor).toBeNull();
  expect((await svc.history({ number: '+15556660000', until: new Date(0) })).items).toHaveLength(0);
});

it('refuses work after close', async () => {
  const other = new SmsService({ repositories: createRepositories(t.db), sender: unused, instanceId: 'closed' });
  await other.close();
  await expect(other.accept({ from: '+1555', to: '+1556', body: 'x' })).rejects.toBeInstanceOf(InvalidStateError);
  expect(() => other.startWorker()).toThrow(InvalidStateError);
});
