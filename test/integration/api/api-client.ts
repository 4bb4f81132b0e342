import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from '../../helpers/server';
import { until } from '../../helpers/wait';

/** The HS256 secret every API test server is started with. */
export const TEST_JWT_SECRET = 'integration-test-secret-0123456789abcdef';
export const TEST_TRUNK_SECRET = 'integration-test-trunk-key-0123456789abcdef';

/** Limits high enough that ordinary tests never meet them (the rate-limit test sets its own). */
export const GENEROUS_LIMITS = {
  API_RATE_LIMIT_IP_RPS: '100000',
  API_RATE_LIMIT_IP_BURST: '100000',
  API_RATE_LIMIT_SUBJECT_RPS: '100000',
  API_RATE_LIMIT_SUBJECT_BURST: '100000',
};

export interface MintOptions {
  sub?: string;
  scope?: string;
  /** Seconds from now; negative = already expired. */
  ttlS?: number;
  secret?: string;
  /** Leave out the exp claim. */
  noExp?: boolean;
}

/** A token as `npm run token` would mint it. */
export function mint(options: MintOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { sub: options.sub ?? 'tester', scope: options.scope ?? 'admin', iat: now };
  if (!options.noExp) payload['exp'] = now + (options.ttlS ?? 300);
  return jwt.sign(payload, options.secret ?? TEST_JWT_SECRET, { algorithm: 'HS256' });
}

export async function startApiServer(env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer({ JWT_SECRET_KEY: TEST_JWT_SECRET, TRUNK_SECRET_KEY: TEST_TRUNK_SECRET, ...GENEROUS_LIMITS, ...env });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  text: string;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is (malformed JSON tests). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** One HTTP request to the test server's API. */
export async function call(server: TestServer, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? mint() : options.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${server.server.apiPort}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** The `error` object of a JSON error body. */
export function errorOf(res: ApiResponse): { code: string; message: string; field?: string } {
  const body = res.body as { error?: { code: string; message: string; field?: string } };
  if (body === null || typeof body !== 'object' || body.error === undefined) throw new Error(`not an error body: ${res.text}`);
  return body.error;
}

/** A recording as GET /api/recordings lists it. */
export interface RecordingJson {
  id: string;
  call_id: string;
  status: string;
  channels: number;
  duration_s: number;
  size_bytes: number;
  file_name: string;
  source: string;
}

/** The recording of `callId` (in `status`, when given), waiting for it. */
export function recordingOf(server: TestServer, callId: string, status?: string): Promise<RecordingJson> {
  return until(async () => {
    const r = await call(server, 'GET', `/api/recordings?call_id=${encodeURIComponent(callId)}`);
    const item = (r.body as { items: RecordingJson[] }).items[0];
    return item && (status === undefined || item.status === status) ? item : undefined;
  }, `a ${status ?? ''} recording of ${callId}`);
}
