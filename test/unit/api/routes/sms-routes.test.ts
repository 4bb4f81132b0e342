import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { createApi, JwtVerifier, type ApiDependencies, type SmsApi } from '../../../../src/api';
import { HealthChecker } from '../../../../src/observability';
import { SmsValidationError, type AcceptedSms, type SmsHistoryFilter, type SmsView } from '../../../../src/sms';
import { InvalidCursorError } from '../../../../src/store';
import { InvalidStateError } from '../../../../src/util';

// The SMS routes over a fake SmsApi: the mapping of service results and errors to HTTP, without a database.

const SECRET = 'unit-test-secret-0123456789abcdef-0123';
const token = jwt.sign({ sub: 'unit', scope: 'sms:write' }, SECRET, { algorithm: 'HS256', expiresIn: 300 });

const ID = '6f1d2c3b-4a59-4e68-9d7c-0123456789ab';
const VIEW: SmsView = {
  id: ID,
  direction: 'outbound',
  from: '+15550000001',
  to: '+15550000002',
  body: 'hi',
  status: 'sent',
  segments: 1,
  encoding: 'GSM-7',
  attempts: 1,
  maxAttempts: 5,
  lastStatus: 200,
  lastError: null,
  nextAttemptAt: null,
  trunkId: null,
  sipCallId: `sms-${ID}-1@example.invalid`,
  metadata: {},
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
  sentAt: new Date('2030-01-01T00:00:01.000Z'),
  deliveredAt: null,
  updatedAt: new Date('2030-01-01T00:00:01.000Z'),
};

class FakeSms implements SmsApi {
  acceptError: unknown;
  historyError: unknown;
  lastFilter: SmsHistoryFilter | undefined;
  async accept(): Promise<AcceptedSms> {
    if (this.acceptError !== undefined) throw this.acceptError;
    return { id: ID, status: 'queued', segments: 1, encoding: 'GSM-7', createdAt: VIEW.createdAt };
  }
  async get(id: string): Promise<SmsView | undefined> {
    return id === ID ? VIEW : undefined;
  }
  async history(filter: SmsHistoryFilter = {}) {
    this.lastFilter = filter;
    if (this.historyError !== undefined) throw this.historyError;
    return { items: [VIEW], nextCursor: null };
  }
}

const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used')) });

async function serve(sms: SmsApi | undefined): Promise<{ url: string; close: () => Promise<void> }> {
  const deps: ApiDependencies = {
    health: new HealthChecker(),
    version: '0.0.0',
    startedAt: 0,
    verifier: new JwtVerifier({ secret: SECRET }),
    repositories: unused as ApiDependencies['repositories'],
    sms,
  };
  const server: Server = createServer(createApi(deps).app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function request(url: string, method: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const SEND = { from_number: '+15550000001', to_number: '+15550000002', message: 'hi' };

describe('SMS routes', () => {
  let fake: FakeSms;
  let api: { url: string; close: () => Promise<void> };
  beforeEach(async () => {
    fake = new FakeSms();
    api = await serve(fake);
  });
  afterEach(async () => {
    await api.close();
  });

  it('answers 202 with the queued message and a Location', async () => {
    const res = await request(`${api.url}/api/sms/send`, 'POST', SEND);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ message_id: ID, status: 'queued', segments: 1, encoding: 'GSM-7', created_at: '2030-01-01T00:00:00.000Z' });
    expect(res.headers.get('location')).toBe(`/api/sms/${ID}`);
  });

  it.each([
    ['from', 'from must be a phone number or sender id', 'from_number', 'from_number must be a phone number or sender id'],
    ['to', 'to must be a phone number', 'to_number', 'to_number must be a phone number'],
    ['message', 'message takes 12 segments (UCS-2); at most 10 are allowed', 'message', 'message takes 12 segments (UCS-2); at most 10 are allowed'],
  ])('maps the service field %s to the API field', async (serviceField, serviceMessage, field, message) => {
    fake.acceptError = new SmsValidationError(serviceMessage, serviceField);
    const res = await request(`${api.url}/api/sms/send`, 'POST', SEND);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: 'validation_failed', message, field } });
  });

  it('answers 503 with Retry-After while the service shuts down, and 500 for a database failure', async () => {
    fake.acceptError = new InvalidStateError('SmsService is closed');
    const closing = await request(`${api.url}/api/sms/send`, 'POST', SEND);
    expect(closing.status).toBe(503);
    expect(closing.headers.get('retry-after')).toBe('30');
    fake.acceptError = new Error('connection terminated');
    const broken = await request(`${api.url}/api/sms/send`, 'POST', SEND);
    expect(broken.status).toBe(500);
    expect(JSON.stringify(broken.json)).not.toContain('connection terminated');
  });

  it('shows a message with API field names and ISO timestamps', async () => {
    const res = await request(`${api.url}/api/sms/${ID}`, 'GET');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      message_id: ID,
      from_number: '+15550000001',
      to_number: '+15550000002',
      message: 'hi',
      status: 'sent',
      last_sip_status: 200,
      sent_at: '2030-01-01T00:00:01.000Z',
      delivered_at: null,
    });
    expect((await request(`${api.url}/api/sms/${ID.replace('6f', '7f')}`, 'GET')).status).toBe(404);
  });

  it('passes the history filters through, statuses as a list, and maps a foreign cursor to 400', async () => {
    const res = await request(`${api.url}/api/sms/history?number=%2B15550000002&direction=outbound&status=sent,failed,sent&since=2030-01-01T00:00:00Z&limit=10`, 'GET');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ next_cursor: null, limit: 10, items: [expect.objectContaining({ message_id: ID })] });
    expect(fake.lastFilter).toEqual({
      number: '+15550000002',
      direction: 'outbound',
      status: ['sent', 'failed'],
      since: new Date('2030-01-01T00:00:00Z'),
      until: undefined,
      cursor: undefined,
      limit: 10,
    });
    fake.historyError = new InvalidCursorError();
    const bad = await request(`${api.url}/api/sms/history?cursor=abc`, 'GET');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { field: 'cursor' } });
  });
});

describe('SMS routes without an SMS service', () => {
  it('stay mounted and answer 503 sms_unavailable', async () => {
    const api = await serve(undefined);
    try {
      for (const [method, path, body] of [
        ['POST', '/api/sms/send', SEND],
        ['GET', '/api/sms/history', undefined],
        ['GET', `/api/sms/${ID}`, undefined],
      ] as const) {
        const res = await request(`${api.url}${path}`, method, body);
        expect(res.status).toBe(503);
        expect(res.json).toMatchObject({ error: { code: 'sms_unavailable' } });
      }
    } finally {
      await api.close();
    }
  });
});
