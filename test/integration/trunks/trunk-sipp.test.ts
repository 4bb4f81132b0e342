import { createSocket, type Socket } from 'node:dgram';
import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent, type ClientInviteSession, type InviteFailure } from '../../../src/sip/ua';
import { SecretCipher, TrunkRepository } from '../../../src/store';
import { TrunkRegistry, type TrunkRegistryOptions, type TrunkStateSnapshot } from '../../../src/trunks';
import { systemClock } from '../../../src/util';
import { createTestDatabase, type TestDatabase } from '../../helpers/db';
import { scenarioPath, startSipp } from '../../helpers/sipp';

// Trunks against SIPp UAS scenarios standing in for providers (sipp/trunk-*.xml) and a UDP responder we control,
// with trunk records in the real PostgreSQL and our user agent on a real UDP socket.

let tdb: TestDatabase;
let repo: TrunkRepository;
let transport: SipTransportLayer;
let ua: SipUserAgent;
const registries: TrunkRegistry[] = [];
type Sipp = Awaited<ReturnType<typeof startSipp>>;
const sipps: Sipp[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('pg');
  repo = new TrunkRepository(tdb.db, SecretCipher.fromSecret('trunk-test-secret-key-0123456789abcdef'));
  const holder: { ua?: SipUserAgent } = {};
  transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (data, source) => holder.ua?.receive(data, source) });
  await transport.start();
  ua = new SipUserAgent({ clock: systemClock, send: (t, d) => transport.send(t, d), publicHost: '127.0.0.1', ports: { UDP: transport.ports.udp! } });
  holder.ua = ua;
});

afterEach(async () => {
  for (const r of registries.splice(0)) await r.close();
  for (const s of sipps.splice(0)) await s.stop();
  for (const s of sockets.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  await tdb.db.query('DELETE FROM trunks');
});

afterAll(async () => {
  await ua?.close();
  await transport?.close();
  await tdb?.destroy();
});

function registry(opts: Partial<TrunkRegistryOptions> = {}): TrunkRegistry {
  const r = new TrunkRegistry({ requester: ua, trunks: repo, optionsIntervalMs: 0, reloadIntervalMs: 0, ...opts });
  registries.push(r);
  return r;
}

async function sipp(name: string): Promise<Sipp> {
  const s = await startSipp({ scenario: scenarioPath(name), calls: 1, timeoutS: 30 });
  sipps.push(s);
  return s;
}

/** Polls until `check` returns a value (bounded by the jest timeout); no timing is asserted. */
async function waitFor<T>(check: () => T | undefined | false): Promise<T> {
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The status persisted in the trunks table (written asynchronously after each change). */
async function storedStatusBecomes(id: string, status: string): Promise<void> {
  while ((await repo.get(id))?.status !== status) await new Promise((r) => setTimeout(r, 25));
}

function stateOf(r: TrunkRegistry, id: string): TrunkStateSnapshot {
  return r.state(id)!;
}

describe('outbound registration against a SIPp provider', () => {
  it('answers the 401 challenge, registers, refreshes before expiry and de-registers on close', async () => {
    const provider = await sipp('trunk-register-auth');
    const trunk = await repo.create({ name: 'provider-a', proxyAddress: '127.0.0.1', proxyPort: provider.port, username: 'trunkuser', password: 'trunkpass', register: true, registerExpiresS: 60 });
    const r = registry();
    await r.start();
    const first = await waitFor(() => {
      const reg = stateOf(r, trunk.id).registration;
      return reg?.state === 'registered' ? reg : undefined;
    });
    // RFC 3261 §10.2.4: the provider granted 4 s in the Contact's expires; the refresh is due before it runs out.
    expect(first.grantedExpiresS).toBe(4);
    expect(first.lastCode).toBe(200);
    expect(first.nextAttemptAt).not.toBeNull();
    expect(first.nextAttemptAt!).toBeLessThan(first.expiresAt!);
    expect(stateOf(r, trunk.id).status).toBe('up');
    const refreshed = await waitFor(() => {
      const reg = stateOf(r, trunk.id).registration;
      return reg && reg.expiresAt !== null && reg.expiresAt > first.expiresAt! && reg.state === 'registered' ? reg : undefined;
    });
    expect(refreshed.failures).toBe(0);
    expect(r.liveState(trunk.id)).toMatchObject({ status: 'up', registered: true });
    await storedStatusBecomes(trunk.id, 'up');
    // Shutdown: REGISTER with Expires: 0 ends the provider's scenario.
    await r.close();
    const result = await provider.done;
    sipps.splice(sipps.indexOf(provider), 1);
    expect(result.errors).toBe('');
    expect(result.successful).toBe(1);
  });

  it('goes to the failed state on 403 and retries with backoff', async () => {
    const provider = await sipp('trunk-register-forbidden');
    const trunk = await repo.create({ name: 'provider-b', proxyAddress: '127.0.0.1', proxyPort: provider.port, username: 'trunkuser', password: 'wrong', register: true });
    const r = registry({ registerRetryBaseMs: 200, random: () => 0.5 });
    await r.start();
    const failedOnce = await waitFor(() => {
      const reg = stateOf(r, trunk.id).registration;
      return reg?.state === 'failed' ? reg : undefined;
    });
    expect(failedOnce.lastCode).toBe(403);
    expect(stateOf(r, trunk.id).status).toBe('down');
    // A failed registration takes the trunk out of route choice.
    expect(r.chooseTrunks('+15550001111')).toEqual([]);
    const failedTwice = await waitFor(() => {
      const reg = stateOf(r, trunk.id).registration;
      return reg && reg.failures >= 2 ? reg : undefined;
    });
    expect(failedTwice.state).toBe('failed');
    expect(failedTwice.lastCode).toBe(403);
    const result = await provider.done;
    sipps.splice(sipps.indexOf(provider), 1);
    expect(result.errors).toBe('');
    expect(result.successful).toBe(1);
  });
});

/** A UDP "provider" answering OPTIONS with 200 while `answering` is true, silent otherwise. */
async function optionsResponder(): Promise<{ port: number; answering: boolean; pings: number }> {
  const state = { port: 0, answering: true, pings: 0 };
  const sock = createSocket('udp4');
  sockets.push(sock);
  sock.on('message', (msg, rinfo) => {
    const text = msg.toString('latin1');
    if (!text.startsWith('OPTIONS ')) return;
    state.pings++;
    if (!state.answering) return;
    const keep = text.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    const lines = keep.map((l) => (/^To:/i.test(l) ? `${l};tag=resp1` : l));
    sock.send(Buffer.from(['SIP/2.0 200 OK', ...lines, 'Content-Length: 0', '', ''].join('\r\n')), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  state.port = sock.address().port;
  return state;
}

describe('OPTIONS health', () => {
  it('marks a trunk that stops answering down after N misses and up again after M answers', async () => {
    const provider = await optionsResponder();
    const trunk = await repo.create({ name: 'pinged', proxyAddress: '127.0.0.1', proxyPort: provider.port, prefixes: ['+1'] });
    const changes: string[] = [];
    const r = registry({ optionsIntervalMs: 100, optionsTimeoutMs: 150, downAfter: 2, upAfter: 2 });
    r.on('statechange', (s) => changes.push(s.status));
    await r.start();
    await waitFor(() => stateOf(r, trunk.id).status === 'up');
    expect(r.chooseTrunks('+15551234567').map((x) => x.trunk.id)).toEqual([trunk.id]);
    provider.answering = false;
    await waitFor(() => stateOf(r, trunk.id).status === 'down');
    expect(stateOf(r, trunk.id).lastPing?.result).toBe('timeout');
    expect(r.chooseTrunks('+15551234567')).toEqual([]);
    await storedStatusBecomes(trunk.id, 'down');
    provider.answering = true;
    await waitFor(() => stateOf(r, trunk.id).status === 'up');
    expect(changes).toEqual(['up', 'down', 'up']);
    expect(stateOf(r, trunk.id).health).toBe('up');
    expect(provider.pings).toBeGreaterThanOrEqual(5);
  });
});

const OFFER = Buffer.from(['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n'));

function outcome(session: ClientInviteSession): Promise<number> {
  return new Promise((resolve) => {
    session.once('answered', (res) => resolve(res.status));
    session.once('failed', (f: InviteFailure) => resolve(f.status));
  });
}

describe('outbound failover', () => {
  it('fails over from a trunk answering 503 to the next trunk, which answers', async () => {
    const overloaded = await sipp('trunk-uas-503');
    const healthy = await sipp('uas-answer');
    const a = await repo.create({ name: 'first-choice', proxyAddress: '127.0.0.1', proxyPort: overloaded.port, priority: 10, prefixes: ['+1'] });
    const b = await repo.create({ name: 'second-choice', proxyAddress: '127.0.0.1', proxyPort: healthy.port, priority: 20, prefixes: ['+1'] });
    await repo.create({ name: 'uk-only', proxyAddress: '127.0.0.1', proxyPort: 9, priority: 1, prefixes: ['+44'] });
    const r = registry();
    await r.start();
    const routes = r.chooseTrunks('+15551230000');
    expect(routes.map((x) => x.trunk.id)).toEqual([a.id, b.id]);
    const tried: [string, number][] = [];
    for (const route of routes) {
      const channel = r.acquire(route.trunk.id);
      expect(channel).toBeDefined();
      const session = ua.invite({ to: route.requestUri, from: { uri: `sip:+15550009999@${route.fromDomain}` }, target: route.target, body: OFFER });
      const status = await outcome(session);
      tried.push([route.trunk.name, status]);
      r.reportResult(route.trunk.id, status);
      if (status === 200) {
        session.bye();
        channel!.release();
        break;
      }
      channel!.release();
      if (!r.shouldFailover(status)) break;
    }
    expect(tried).toEqual([
      ['first-choice', 503],
      ['second-choice', 200],
    ]);
    expect(r.activeCalls(a.id)).toBe(0);
    for (const s of [overloaded, healthy]) {
      const res = await s.done;
      expect(res.errors).toBe('');
      expect(res.successful).toBe(1);
    }
    sipps.splice(0);
  });
});
