import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { SmsService, type SmsSender, type SmsSendRequest, type SmsSendResult } from '../../../src/sms';
import { createRepositories } from '../../../src/store';
import { eventually } from './sip-stack';

// Two workers (two services, two connection pools: as two instances would) working one PostgreSQL queue.

/** Records every send; answers 200 after a short, varying delay so claims interleave. */
class CountingSender implements SmsSender {
  readonly sent: SmsSendRequest[] = [];
  async send(req: SmsSendRequest): Promise<SmsSendResult> {
    this.sent.push(req);
    await new Promise((r) => setTimeout(r, 1 + (this.sent.length % 5)));
    return { status: 200, reason: 'OK' };
  }
}

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase('pg');
}, 60_000);

afterAll(async () => {
  await t?.destroy();
});

it('sends each of 100 messages exactly once with two workers claiming concurrently', async () => {
  const senders = [new CountingSender(), new CountingSender()];
  const dbs = [t.db, t.openAnother()];
  const services = senders.map(
    (sender, i) =>
      new SmsService({
        repositories: createRepositories(dbs[i]),
        sender,
        instanceId: `worker-${i}`,
        worker: { batchSize: 5, pollIntervalMs: 10 },
      }),
  );
  try {
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await services[i % 2].accept({ from: '+15551000000', to: `+1555200${String(i).padStart(4, '0')}`, body: `n${i}` })).id);
    services.forEach((s) => s.startWorker());
    await eventually(async () => {
      const page = await services[0].history({ number: '+15551000000', status: 'sent', limit: 500 });
      return page.items.length === 100 ? true : undefined;
    });
    await Promise.all(services.map((s) => s.stopWorker()));

    const all = [...senders[0].sent, ...senders[1].sent].map((r) => r.messageId);
    expect(all).toHaveLength(100);
    expect(new Set(all)).toEqual(new Set(ids));
    // Both instances took part: the claim spreads work instead of serialising it.
    expect(senders[0].sent.length).toBeGreaterThan(0);
    expect(senders[1].sent.length).toBeGreaterThan(0);
    for (const id of ids.slice(0, 10)) expect(await services[1].get(id)).toMatchObject({ status: 'sent', attempts: 1 });
  } finally {
    await Promise.all(services.map((s) => s.close()));
  }
}, 60_000);
