import { startSipp, scenarioPath } from '../../helpers/sipp';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { SipSmsSender, SmsService, gatewayRoute, type SmsServiceOptions } from '../../../src/sms';
import { createRepositories, type Database } from '../../../src/store';
import { FakeTrunk, eventually, startSipStack, type SipStack } from './sip-stack';

// The worker over the real SIP stack (UDP transport, transaction layer, UA core) against SIPp UAS scenarios and
// a Node UDP peer that captures MESSAGE bytes exactly; the queue in the real PostgreSQL.

let t: TestDatabase;
let stack: SipStack;
const services: SmsService[] = [];

beforeAll(async () => {
  t = await createTestDatabase('pg');
  stack = await startSipStack();
}, 60_000);

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await stack?.close();
  await t?.destroy();
});

function service(gatewayPort: number, db: Database = t.db, over: Partial<SmsServiceOptions> = {}): SmsService {
  const sender = new SipSmsSender({ requester: stack.ua, route: gatewayRoute(`sip:127.0.0.1:${gatewayPort}`, 'sms.test.invalid') });
  const svc = new SmsService({
    repositories: createRepositories(db),
    sender,
    instanceId: `test-${process.pid}`,
    retry: { baseDelayMs: 50, factor: 2, maxDelayMs: 1000, maxAttempts: 4, jitter: 0 },
    worker: { pollIntervalMs: 25, batchSize: 20 },
    ...over,
  });
  services.push(svc);
  return svc;
}

async function finalStatus(svc: SmsService, id: string): Promise<string> {
  const view = await eventually(async () => {
    const v = await svc.get(id);
    return v && v.status !== 'queued' && v.status !== 'sending' ? v : undefined;
  });
  return view.status;
}

describe('SMS worker against SIPp', () => {
  it('sends queued messages as MESSAGE that a SIPp UAS accepts with 200', async () => {
    const sipp = await startSipp({ scenario: scenarioPath('uas-message'), calls: 3, timeoutS: 30, keys: { body_regexp: 'Hello from SIP server' } });
    try {
      const svc = service(sipp.port);
      const accepted = await Promise.all([1, 2, 3].map((i) => svc.accept({ from: '+15550000001', to: `+1555000010${i}`, body: `Hello from SIP server #${i}` })));
      svc.startWorker();
      for (const a of accepted) expect(await finalStatus(svc, a.id)).toBe('sent');
      const view = await svc.get(accepted[0].id);
      expect(view).toMatchObject({ attempts: 1, lastStatus: 200, segments: 1, encoding: 'GSM-7' });
      const result = await sipp.done;
      expect(result.errors).toBe('');
      expect(result.successful).toBe(3);
      expect(result.failed).toBe(0);
    } finally {
      await sipp.stop();
    }
  }, 60_000);

  it('retries after a 500 and is sent after exactly one retry, reusing Call-ID and message id', async () => {
    const sipp = await startSipp({ scenario: scenarioPath('uas-message-500-then-200'), calls: 1, timeoutS: 30 });
    try {
      const svc = service(sipp.port);
      const { id } = await svc.accept({ from: '+15550000002', to: '+15550000200', body: 'retry me' });
      svc.startWorker();
      expect(await finalStatus(svc, id)).toBe('sent');
      const view = await svc.get(id);
      expect(view).toMatchObject({ attempts: 2, lastStatus: 200, lastError: null });
      const result = await sipp.done;
      expect(result.errors).toBe('');
      expect(result.successful).toBe(1);
      expect(result.failed).toBe(0);
    } finally {
      await sipp.stop();
    }
  }, 60_000);
});

describe('SMS worker against a capturing UDP peer', () => {
  let trunk: FakeTrunk;
  beforeEach(async () => {
    trunk = new FakeTrunk();
    await trunk.start();
  });
  afterEach(async () => {
    await trunk.close();
  });

  it('puts the exact UTF-8 bytes of the text (emoji included) in a text/plain;charset=UTF-8 body', async () => {
    const text = 'Grüße 👋🏽 from the 🤖 — ok? €';
    const svc = service(trunk.port);
    const { id, encoding, segments } = await svc.accept({ from: '+15550000003', to: '+15550000300', body: text });
    expect({ encoding, segments }).toEqual({ encoding: 'UCS-2', segments: 1 });
    svc.startWorker();
    await trunk.waitFor(1);
    expect(await finalStatus(svc, id)).toBe('sent');
    const m = trunk.messages[0];
    expect(m.request.method).toBe('MESSAGE');
    expect(m.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(m.request.getHeader('Content-Type')).toBe('text/plain;charset=UTF-8');
    expect(m.request.getHeader('Content-Length')).toBe(String(Buffer.byteLength(text, 'utf8')));
    expect(m.request.getHeader('X-SMS-Message-ID')).toBe(id);
    expect(m.request.uri.user).toBe('+15550000300');
    expect(m.request.from.uri.user).toBe('+15550000003');
    expect(m.request.callId).toBe(`sms-${id}-1@sms.test.invalid`);
    // The raw datagram ends with exactly those bytes.
    expect(m.raw.subarray(m.raw.length - m.body.length).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('fails a message on a 4xx without retrying', async () => {
    trunk.answer = () => 404;
    const svc = service(trunk.port);
    const { id } = await svc.accept({ from: '+15550000004', to: '+15550000400', body: 'nobody' });
    svc.startWorker();
    expect(await finalStatus(svc, id)).toBe('failed');
    expect(await svc.get(id)).toMatchObject({ attempts: 1, lastStatus: 404, lastError: '404 Not Found' });
    expect(trunk.messages).toHaveLength(1);
  });

  it('fails after max attempts of 503', async () => {
    trunk.answer = () => 503;
    const svc = service(trunk.port);
    const { id } = await svc.accept({ from: '+15550000005', to: '+15550000500', body: 'busy gateway' });
    svc.startWorker();
    expect(await finalStatus(svc, id)).toBe('failed');
    expect(await svc.get(id)).toMatchObject({ attempts: 4, maxAttempts: 4, lastStatus: 503 });
    expect(trunk.messages).toHaveLength(4);
    // Every attempt is the same message for the peer: one Call-ID, one message id, CSeq growing.
    expect(new Set(trunk.messages.map((m) => m.request.callId)).size).toBe(1);
    const cseqs = trunk.messages.map((m) => m.request.cseq.seq);
    expect([...cseqs].sort((a, b) => a - b)).toEqual(cseqs);
    expect(new Set(cseqs).size).toBe(4);
  });

  it('sends one MESSAGE per segment with X-SMS-Concat when the trunk segments', async () => {
    const text = 'x'.repeat(153) + 'y'.repeat(153) + 'z'.repeat(10);
    const svc = service(trunk.port, t.db, { segmentOutbound: true });
    const { id, segments } = await svc.accept({ from: '+15550000006', to: '+15550000600', body: text });
    expect(segments).toBe(3);
    svc.startWorker();
    await trunk.waitFor(3);
    expect(await finalStatus(svc, id)).toBe('sent');
    const concat = trunk.messages.map((m) => m.request.getHeader('X-SMS-Concat') ?? '');
    const ref = /ref=(\d+)/.exec(concat[0])![1];
    expect(concat).toEqual([1, 2, 3].map((s) => `ref=${ref};seq=${s};total=3`));
    expect(Buffer.concat(trunk.messages.map((m) => m.body)).toString('utf8')).toBe(text);
    expect(await svc.get(id)).toMatchObject({ segments: 3, attempts: 1 });
  });

  it('resumes a segmented message after the last acknowledged part when a part fails', async () => {
    // Part 2 fails once with 500: the retry sends parts 2 and 3 only.
    let failed = false;
    trunk.answer = (req) => {
      if (!failed && req.getHeader('X-SMS-Concat')?.includes('seq=2')) {
        failed = true;
        return 500;
      }
      return 200;
    };
    const text = 'a'.repeat(153) + 'b'.repeat(153) + 'c';
    const svc = service(trunk.port, t.db, { segmentOutbound: true });
    const { id } = await svc.accept({ from: '+15550000007', to: '+15550000700', body: text });
    svc.startWorker();
    expect(await finalStatus(svc, id)).toBe('sent');
    const seqs = trunk.messages.map((m) => /seq=(\d+)/.exec(m.request.getHeader('X-SMS-Concat') ?? '')![1]);
    expect(seqs).toEqual(['1', '2', '2', '3']);
    expect(await svc.get(id)).toMatchObject({ attempts: 2 });
  });

  it('survives a restart: a message accepted by one service is sent exactly once by the next', async () => {
    // "Process 1" accepts and dies before its worker ever runs.
    const first = service(trunk.port);
    const { id } = await first.accept({ from: '+15550000008', to: '+15550000800', body: 'durable' });
    await first.close();
    // "Process 2": a new database pool and a new service on the same schema.
    const db2 = t.openAnother();
    const second = service(trunk.port, db2, { instanceId: `restarted-${process.pid}` });
    second.startWorker();
    expect(await finalStatus(second, id)).toBe('sent');
    await second.stopWorker();
    // Let any stray duplicate arrive before counting.
    await new Promise((r) => setTimeout(r, 200));
    expect(trunk.messages.filter((m) => m.request.getHeader('X-SMS-Message-ID') === id)).toHaveLength(1);
  });
});
