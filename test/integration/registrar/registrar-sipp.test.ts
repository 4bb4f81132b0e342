import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent, type IncomingRequest } from '../../../src/sip/ua';
import { DigestClient } from '../../../src/sip/auth';
import type { SipResponse } from '../../../src/sip/message';
import { Registrar } from '../../../src/registrar';
import { systemClock } from '../../../src/util';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { runSipp, scenarioPath, type SippResult } from '../../helpers/sipp';

// The registrar on a real UDP socket and the real PostgreSQL, driven by SIPp phones (sipp/register*.xml) and by our
// own user agent as a second phone.

const DOMAIN = 'sip.test';

interface Node {
  transport: SipTransportLayer;
  ua: SipUserAgent;
  registrar: Registrar;
}

let tdb: TestDatabase;
const nodes: Node[] = [];

async function startNode(db: TestDatabase['db'], instanceId: string): Promise<Node> {
  const holder: { ua?: SipUserAgent } = {};
  const transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (data, source) => holder.ua?.receive(data, source) });
  await transport.start();
  const ua = new SipUserAgent({ clock: systemClock, send: (t, d) => transport.send(t, d), publicHost: '127.0.0.1', ports: { UDP: transport.ports.udp! } });
  holder.ua = ua;
  const registrar = new Registrar({
    db,
    domain: DOMAIN,
    aliases: ['127.0.0.1'],
    secret: 'registrar-test-secret-0123456789',
    instanceId,
    // SIPp answers only the first challenge and only MD5: offer MD5 first (REGISTER_DIGEST_ALGORITHMS=MD5,SHA-256).
    // Our own UA picks the strongest offered (SHA-256) regardless of order.
    algorithms: ['MD5', 'SHA-256'],
    expires: { minS: 60, maxS: 3600, defaultS: 600 },
    purgeIntervalMs: 0,
  });
  ua.handle('REGISTER', (req: IncomingRequest) => registrar.handleRegister(req));
  const node = { transport, ua, registrar };
  nodes.push(node);
  return node;
}

let a: Node;

beforeAll(async () => {
  tdb = await createTestDatabase('pg');
  a = await startNode(tdb.db, 'node-a');
  await a.registrar.users.create({ username: 'alice', password: 'secret' });
  await a.registrar.users.create({ username: 'bob', password: 'b0b-pass' });
});

afterAll(async () => {
  for (const n of nodes) {
    await n.registrar.close();
    await n.ua.close();
    await n.transport.close();
  }
  await tdb?.destroy();
});

function sipp(scenario: string, user: string, password: string): Promise<SippResult> {
  return runSipp({
    scenario: scenarioPath(scenario),
    target: `127.0.0.1:${a.transport.ports.udp}`,
    calls: 1,
    service: user,
    timeoutS: 15,
    extra: ['-au', user, '-ap', password],
  });
}

describe('registrar with SIPp phones', () => {
  it('challenges with 401, accepts the digest answer and stores the binding with the source address', async () => {
    const r = await sipp('register', 'alice', 'secret');
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const contacts = await a.registrar.lookup('alice');
    expect(contacts).toHaveLength(1);
    expect(contacts[0].uri).toBe(`sip:alice@127.0.0.1:${r.localPort}`);
    // NAT: the binding remembers where the REGISTER came from, and requests go there.
    expect(contacts[0].target).toEqual({ transport: 'UDP', address: '127.0.0.1', port: r.localPort });
    expect(contacts[0].expiresInS).toBeGreaterThan(590);
    expect(contacts[0].expiresInS).toBeLessThanOrEqual(600);
    expect(contacts[0].local).toBe(true);
  });

  it('answers a wrong password and an unknown user the same way (a fresh 401, not stale)', async () => {
    const wrong = await sipp('register-rejected', 'bob', 'not-the-password');
    const unknown = await sipp('register-rejected', 'mallory', 'whatever');
    expect(wrong.errors).toBe('');
    expect(wrong.successful).toBe(1);
    expect(unknown.errors).toBe('');
    expect(unknown.successful).toBe(1);
    expect(await a.registrar.lookup('bob')).toEqual([]);
    expect(await a.registrar.lookup('mallory')).toEqual([]);
    expect(a.registrar.stats().authFailed).toBeGreaterThanOrEqual(2);
  });

  it('refuses an interval below the minimum with 423 and Min-Expires', async () => {
    const r = await sipp('register-brief', 'bob', 'b0b-pass');
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    expect(await a.registrar.lookup('bob')).toEqual([]);
  });
});

describe('registrar with our own user agent as a phone', () => {
  let phone: Node;
  beforeAll(async () => {
    // A second instance on its own pool of the same database: it both acts as the phone and checks visibility.
    phone = await startNode(tdb.openAnother(), 'node-b');
  });

  function register(user: string, opts: { contacts?: string[]; expires?: string; password?: string; callId?: string; cseq?: number; digest?: DigestClient }): Promise<SipResponse> {
    const headers: [string, string][] = (opts.contacts ?? []).map((c): [string, string] => ['Contact', c]);
    if (opts.expires !== undefined) headers.push(['Expires', opts.expires]);
    return phone.ua.request('REGISTER', `sip:${DOMAIN}`, {
      target: { transport: 'UDP', address: '127.0.0.1', port: a.transport.ports.udp! },
      from: `<sip:${user}@${DOMAIN}>`,
      to: `<sip:${user}@${DOMAIN}>`,
      headers,
      ...(opts.digest ? { digest: opts.digest } : { credentials: { username: user, password: opts.password ?? 'secret' } }),
      ...(opts.callId ? { callId: opts.callId } : {}),
      ...(opts.cseq !== undefined ? { cseq: opts.cseq } : {}),
    });
  }

  function expiresOf(res: SipResponse): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of res.contacts) out.set(`${c.uri.user}@${c.uri.host}:${c.uri.port}`, Number(c.params.get('expires')));
    return out;
  }

  it('registers two contacts with SHA-256 digest and lists every binding with its expires in 200 OK', async () => {
    await a.registrar.users.create({ username: 'carol', password: 'secret' });
    const digest = new DigestClient({ username: 'carol', password: 'secret' });
    const res = await register('carol', { contacts: ['<sip:carol@10.0.0.5:5062>;expires=120', '<sip:carol@10.0.0.6:5064>'], expires: '300', digest });
    expect(res.status).toBe(200);
    expect(res.getHeader('Date')).toMatch(/GMT$/);
    const listed = expiresOf(res);
    expect([...listed.keys()].sort()).toEqual(['carol@10.0.0.5:5062', 'carol@10.0.0.6:5064']);
    expect(listed.get('carol@10.0.0.5:5062')).toBeLessThanOrEqual(120);
    expect(listed.get('carol@10.0.0.6:5064')).toBeGreaterThan(120);
    // The other instance finds them in the database, reachable at the REGISTER's source (NAT), not at 10.0.0.x.
    const seen = await phone.registrar.lookup('carol');
    expect(seen.map((c) => c.uri).sort()).toEqual(['sip:carol@10.0.0.5:5062', 'sip:carol@10.0.0.6:5064']);
    for (const c of seen) {
      expect(c.local).toBe(false);
      expect(c.instanceId).toBe('node-a');
      expect(c.target).toEqual({ transport: 'UDP', address: '127.0.0.1', port: phone.transport.ports.udp });
    }
  });

  it('a query (no Contact) lists the bindings; Contact: * with Expires: 0 removes them all', async () => {
    const query = await register('carol', {});
    expect(query.status).toBe(200);
    expect(query.getHeaders('Contact')).toHaveLength(2);
    const bad = await register('carol', { contacts: ['*'], expires: '60' });
    expect(bad.status).toBe(400);
    const removed = await register('carol', { contacts: ['*'], expires: '0' });
    expect(removed.status).toBe(200);
    expect(removed.getHeaders('Contact')).toEqual([]);
    expect(await a.registrar.lookup('carol')).toEqual([]);
  });

  it('refreshes a binding with the same Call-ID and a higher CSeq, and refuses a lower CSeq', async () => {
    await a.registrar.users.create({ username: 'dave', password: 'secret' });
    const digest = new DigestClient({ username: 'dave', password: 'secret' });
    const callId = `refresh-${Date.now()}@127.0.0.1`;
    const first = await register('dave', { contacts: ['<sip:dave@10.0.0.7>'], expires: '100', digest, callId, cseq: 10 });
    expect(first.status).toBe(200);
    const refreshed = await register('dave', { contacts: ['<sip:dave@10.0.0.7>'], expires: '200', digest, callId, cseq: first.cseq.seq + 1 });
    expect(refreshed.status).toBe(200);
    expect(expiresOf(refreshed).get('dave@10.0.0.7:undefined')).toBeGreaterThan(100);
    // RFC 3261 §10.3 step 7: an older request of the same Call-ID must not undo a newer one.
    const stale = await register('dave', { contacts: ['<sip:dave@10.0.0.7>'], expires: '0', digest, callId, cseq: 2 });
    expect(stale.status).toBe(500);
    expect(await a.registrar.lookup('dave')).toHaveLength(1);
    const removed = await register('dave', { contacts: ['<sip:dave@10.0.0.7>'], expires: '0', digest, callId, cseq: refreshed.cseq.seq + 1 });
    expect(removed.status).toBe(200);
    expect(await a.registrar.lookup('dave')).toEqual([]);
  });

  it('shortens an interval above the maximum and refuses another user\'s address of record with 403', async () => {
    const long = await register('alice', { contacts: ['<sip:alice@10.0.0.8>'], expires: '999999' });
    expect(long.status).toBe(200);
    const granted = expiresOf(long).get('alice@10.0.0.8:undefined');
    expect(granted).toBeLessThanOrEqual(3600);
    expect(granted).toBeGreaterThan(3500);
    // bob's valid credentials do not let him change alice's bindings.
    const res = await phone.ua.request('REGISTER', `sip:${DOMAIN}`, {
      target: { transport: 'UDP', address: '127.0.0.1', port: a.transport.ports.udp! },
      from: `<sip:alice@${DOMAIN}>`,
      to: `<sip:alice@${DOMAIN}>`,
      headers: [['Contact', '<sip:bob@10.6.6.6>']],
      credentials: { username: 'bob', password: 'b0b-pass' },
    });
    expect(res.status).toBe(403);
  });

  it('answers 404 for an address of record outside our domain', async () => {
    const res = await phone.ua.request('REGISTER', 'sip:elsewhere.example', {
      target: { transport: 'UDP', address: '127.0.0.1', port: a.transport.ports.udp! },
      from: '<sip:alice@elsewhere.example>',
      to: '<sip:alice@elsewhere.example>',
      headers: [['Contact', '<sip:alice@10.0.0.9>']],
      credentials: { username: 'alice', password: 'secret' },
    });
    expect(res.status).toBe(404);
  });

  it('purges expired bindings', async () => {
    await tdb.db.query("UPDATE registrations SET expires_at = now() - interval '1 second' WHERE aor = $1", [`sip:alice@${DOMAIN}`]);
    expect(await a.registrar.lookup('alice')).toEqual([]);
    expect(await a.registrar.purgeExpired()).toBeGreaterThanOrEqual(1);
    const left = await tdb.db.query('SELECT count(*)::integer AS n FROM registrations WHERE aor = $1', [`sip:alice@${DOMAIN}`]);
    expect(left.rows[0]).toEqual({ n: 0 });
  });
});
