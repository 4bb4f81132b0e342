import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent, type ClientInviteSession, type InviteFailure } from '../../../src/sip/ua';
import { createRepositories, type Repositories } from '../../../src/store';
import { systemClock } from '../../../src/util';
import { startTestServer, type TestServer } from '../../helpers/server';
import { runSipp, scenarioPath, startSipp, freePort } from '../../helpers/sipp';
import { call as apiCall, mint, TEST_JWT_SECRET } from '../api/api-client';
import { endedCdr, injection, removeScratch, scenario, until } from './call-kit';

// Trunks and the registrar wired into the running server (real sockets, the real PostgreSQL): outbound calls fail
// over between SIPp providers and the CDR names every trunk tried; inbound calls from unknown sources are refused
// unless they come from a trunk's addresses; a phone registered with SIPp receives calls to its extension.

type Sipp = Awaited<ReturnType<typeof startSipp>>;

interface TrunkTried {
  trunk_id: string;
  trunk: string;
  result: number | string;
}

function triedOf(row: Record<string, unknown>): TrunkTried[] {
  const meta = row['metadata'] as { trunks_tried?: TrunkTried[] };
  return meta.trunks_tried ?? [];
}

describe('outbound calls through trunks and calls to registered users', () => {
  let srv: TestServer;
  let repos: Repositories;
  const sipps: Sipp[] = [];

  beforeAll(async () => {
    srv = await startTestServer({
      SIP_TRANSPORTS: 'udp',
      // SIPp providers take INVITEs only: no OPTIONS pings in their scenarios.
      TRUNK_OPTIONS_INTERVAL_S: '0',
      // SIPp answers only the first challenge and only MD5.
      REGISTER_DIGEST_ALGORITHMS: 'MD5',
      JWT_SECRET_KEY: TEST_JWT_SECRET,
    });
    repos = createRepositories(srv.server.db);
  });

  afterEach(async () => {
    for (const s of sipps.splice(0)) await s.stop();
    await srv.server.db.query('DELETE FROM trunks');
    await srv.server.trunks.reload();
  });

  afterAll(async () => {
    await srv?.stop();
    removeScratch();
  });

  async function provider(name: string, extra: string[] = []): Promise<Sipp> {
    const s = await startSipp({ scenario: scenarioPath(name), calls: 1, timeoutS: 40, extra });
    sipps.push(s);
    return s;
  }

  it('fails over from a trunk answering 503 to the next one and records both in the CDR', async () => {
    const overloaded = await provider('trunk-uas-503');
    const healthy = await provider('uas-answer');
    const a = await repos.trunks.create({ name: 'overloaded', proxyAddress: '127.0.0.1', proxyPort: overloaded.port, priority: 10, fromDomain: 'carrier-a.example' });
    const b = await repos.trunks.create({ name: 'healthy', proxyAddress: '127.0.0.1', proxyPort: healthy.port, priority: 20 });
    await srv.server.trunks.reload();

    const info = await srv.server.calls.originate({ from: '+15550001000', to: '+15551230001', route: 'answer', timeoutS: 30 });
    await until(() => srv.server.calls.get(info.callId)?.state === 'answered', 'the answer through the second trunk');
    // While the call is up its channel on the answering trunk is held.
    expect(srv.server.trunks.activeCalls(b.id)).toBe(1);
    expect(srv.server.trunks.activeCalls(a.id)).toBe(0);
    expect(srv.server.calls.hangup(info.callId)).toBe(true);

    const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
    expect(row).toMatchObject({ direction: 'outbound', status: 'completed', to_number: '+15551230001', trunk_id: b.id });
    expect(triedOf(row)).toEqual([
      { trunk_id: a.id, trunk: 'overloaded', result: 503 },
      { trunk_id: b.id, trunk: 'healthy', result: 'answered' },
    ]);
    const done = await healthy.done;
    expect(done.successful).toBe(1);
    expect((await overloaded.done).successful).toBe(1);
    await until(() => srv.server.trunks.activeCalls(b.id) === 0, 'the channel released');
  }, 60_000);

  it('does not fail over on 486: the callee is busy whatever trunk reaches it', async () => {
    const busy = await provider('uas-busy');
    const spare = await provider('uas-answer');
    const a = await repos.trunks.create({ name: 'first', proxyAddress: '127.0.0.1', proxyPort: busy.port, priority: 10 });
    await repos.trunks.create({ name: 'spare', proxyAddress: '127.0.0.1', proxyPort: spare.port, priority: 20 });
    await srv.server.trunks.reload();

    const info = await srv.server.calls.originate({ from: '+15550001000', to: '+15551230002', route: 'answer', timeoutS: 30 });
    const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
    expect(row).toMatchObject({ status: 'busy', sip_code: 486, trunk_id: a.id });
    expect(triedOf(row)).toEqual([{ trunk_id: a.id, trunk: 'first', result: 486 }]);
    expect((await busy.done).successful).toBe(1);
    expect(srv.server.calls.size).toBe(0);
    expect(srv.server.trunks.activeCalls(a.id)).toBe(0);
  }, 60_000);

  it('refuses to originate when every trunk is at its channel limit, and names an unknown trunk', async () => {
    const t = await repos.trunks.create({ name: 'tiny', proxyAddress: '127.0.0.1', proxyPort: 9, maxConcurrentCalls: 1 });
    await srv.server.trunks.reload();
    const held = srv.server.trunks.acquire(t.id);
    expect(held).toBeDefined();
    try {
      await expect(srv.server.calls.originate({ from: '+15550001000', to: '+15551230003', route: 'answer' })).rejects.toMatchObject({ code: 'CAPACITY' });
      await expect(srv.server.calls.originate({ from: '+15550001000', to: '+15551230003', trunk: 'no-such-trunk' })).rejects.toMatchObject({ code: 'NO_TRUNK' });
    } finally {
      held?.release();
    }
  });

  it('shows the live trunk states in /api/config/status', async () => {
    const t = await repos.trunks.create({ name: 'status-trunk', proxyAddress: '192.0.2.10', proxyPort: 5060 });
    await srv.server.trunks.reload();
    const res = await apiCall(srv, 'GET', '/api/config/status', { token: mint() });
    expect(res.status).toBe(200);
    const body = res.body as { trunks: { id: string; status: string }[]; trunk_states: { id: string; name: string; activeCalls: number }[]; inbound: { refused: number } };
    expect(body.trunks).toEqual(expect.arrayContaining([expect.objectContaining({ id: t.id, status: 'unknown' })]));
    expect(body.trunk_states).toEqual([expect.objectContaining({ id: t.id, name: 'status-trunk', activeCalls: 0 })]);
    expect(typeof body.inbound.refused).toBe('number');
  });

  it('rings a phone registered with SIPp when its extension is dialled, with the audio bridged', async () => {
    await srv.server.registrar.users.create({ username: 'alice', password: 'alice-secret' });
    const phonePort = await freePort();
    const reg = await runSipp({
      scenario: scenarioPath('register'),
      target: srv.udpTarget,
      calls: 1,
      service: 'alice',
      localPort: phonePort,
      timeoutS: 15,
      extra: ['-au', 'alice', '-ap', 'alice-secret'],
    });
    expect(reg.errors).toBe('');
    expect(reg.successful).toBe(1);
    expect(await srv.server.registrar.lookup('alice')).toHaveLength(1);

    // The phone answers on the port it registered from and echoes the RTP it gets back to us.
    const phone = await startSipp({ scenario: scenarioPath('uas-answer'), calls: 1, localPort: phonePort, timeoutS: 40, extra: ['-rtp_echo'] });
    sipps.push(phone);
    const caller = '+15557770001';
    const run = runSipp({ scenario: scenario('call-uac-pcap-bye'), target: srv.udpTarget, calls: 1, service: 'alice', timeoutS: 40, extra: injection([[caller]]) });
    const info = await until(() => srv.server.calls.list().find((c) => c.from === caller && c.state === 'answered'), 'the call answered by the phone');
    expect(info.bLeg).not.toBeNull();
    // The caller's audio reaches the phone and the phone's echo reaches the caller: the legs are bridged.
    await until(() => {
      const c = srv.server.calls.call(info.callId);
      const a = c?.a.mediaStats();
      const b = c?.b?.mediaStats();
      return a !== undefined && b !== undefined && a.framesSent > 50 && b.framesSent > 50;
    }, 'audio both ways through the bridge');
    const r = await run;
    expect(r.errors).toBe('');
    expect(r.successful).toBe(1);
    const row = await endedCdr(srv.server.db, 'call_id = $1', [info.callId]);
    expect(row).toMatchObject({ direction: 'inbound', to_number: 'alice', status: 'completed', hangup_side: 'caller' });
    expect((await phone.done).successful).toBe(1);
  }, 90_000);
});

const OFFER = Buffer.from(['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n'));

describe('inbound identification with OPEN_INBOUND=false', () => {
  let srv: TestServer;
  let repos: Repositories;
  let transport: SipTransportLayer;
  let ua: SipUserAgent;

  beforeAll(async () => {
    srv = await startTestServer({ SIP_TRANSPORTS: 'udp', OPEN_INBOUND: 'false', DEFAULT_ROUTE: 'answer', TRUNK_OPTIONS_INTERVAL_S: '0' });
    repos = createRepositories(srv.server.db);
    const holder: { ua?: SipUserAgent } = {};
    transport = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: (data, source) => holder.ua?.receive(data, source) });
    await transport.start();
    ua = new SipUserAgent({ clock: systemClock, send: (t, d) => transport.send(t, d), publicHost: '127.0.0.1', ports: { UDP: transport.ports.udp! } });
    holder.ua = ua;
  });

  afterAll(async () => {
    await ua?.close();
    await transport?.close();
    await srv?.stop();
  });

  function dial(from: string): { session: ClientInviteSession; outcome: Promise<number> } {
    const session = ua.invite({ to: `sip:5550100@127.0.0.1:${srv.server.sipPorts.udp}`, from: { uri: `sip:${from}@127.0.0.1` }, body: OFFER, contentType: 'application/sdp' });
    const outcome = new Promise<number>((resolve) => {
      session.once('answered', (res) => resolve(res.status));
      session.once('failed', (f: InviteFailure) => resolve(f.status));
    });
    return { session, outcome };
  }

  it('answers an unknown source calling a DID with 403, counted, and accepts it once it is a trunk’s CIDR', async () => {
    const refusedBefore = srv.server.trunks.inboundStats().refused;
    const stranger = dial('+15559990001');
    expect(await stranger.outcome).toBe(403);
    expect(srv.server.trunks.inboundStats().refused).toBe(refusedBefore + 1);
    const refused = await endedCdr(srv.server.db, 'from_number = $1', ['+15559990001']);
    expect(refused).toMatchObject({ status: 'rejected', sip_code: 403, hangup_cause: 'unknown-source' });

    const trunk = await repos.trunks.create({ name: 'carrier', proxyAddress: '192.0.2.20', supportsInbound: true, inboundCidrs: ['127.0.0.0/8'] });
    await srv.server.trunks.reload();
    const fromTrunk = dial('+15559990002');
    expect(await fromTrunk.outcome).toBe(200);
    const active = await until(() => srv.server.calls.list().find((c) => c.from === '+15559990002'), 'the trunk call');
    fromTrunk.session.hangup();
    const row = await endedCdr(srv.server.db, 'call_id = $1', [active.callId]);
    expect(row).toMatchObject({ status: 'completed', trunk_id: trunk.id });
    expect(srv.server.trunks.inboundStats().fromTrunk).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
