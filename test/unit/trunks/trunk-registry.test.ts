import { SipResponse } from '../../../src/sip/message';
import type { OutOfDialogRequestOptions } from '../../../src/sip/ua';
import type { TrunkRecord, TrunkStatus } from '../../../src/store';
import { TrunkRegistry, overallStatus, type TrunkRequester, type TrunkSource } from '../../../src/trunks';
import { VirtualClock } from '../../../src/util';
import { trunkRecord } from '../../helpers/trunk-record';

const trunk = trunkRecord;

interface Sent {
  method: string;
  uri: string;
  opts: OutOfDialogRequestOptions;
}

function fakes(records: TrunkRecord[], answer: (s: Sent) => number = () => 200) {
  const sent: Sent[] = [];
  const statuses: [string, TrunkStatus][] = [];
  const source: TrunkSource & { records: TrunkRecord[] } = {
    records,
    list: async () => source.records,
    password: async (id) => (source.records.find((r) => r.id === id)?.hasPassword ? 'pw' : undefined),
    setStatus: async (id, status) => {
      statuses.push([id, status]);
      return true;
    },
  };
  const requester: TrunkRequester = {
    publicHost: '192.0.2.10',
    contactFor: () => '<sip:192.0.2.10:5060>',
    request: async (method, uri, opts = {}) => {
      const s = { method, uri: String(uri), opts };
      sent.push(s);
      return new SipResponse(answer(s), 'X', [['CSeq', `${opts.cseq ?? 1} ${method}`]]);
    },
  };
  const gauge = { up: new Map<string, boolean>(), removed: [] as string[], setUp: (id: string, up: boolean) => gauge.up.set(id, up), remove: (id: string) => gauge.removed.push(id) };
  return { source, requester, sent, statuses, gauge };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

const registries: TrunkRegistry[] = [];
afterEach(async () => {
  for (const r of registries.splice(0)) await r.close();
});

async function start(records: TrunkRecord[], opts: { answer?: (s: Sent) => number; openInbound?: boolean; random?: () => number } = {}) {
  const clock = new VirtualClock();
  const f = fakes(records, opts.answer);
  const registry = new TrunkRegistry({
    requester: f.requester,
    trunks: f.source,
    clock,
    metrics: f.gauge,
    optionsIntervalMs: 0,
    reloadIntervalMs: 0,
    openInbound: opts.openInbound,
    random: opts.random ?? (() => 0.5),
  });
  registries.push(registry);
  await registry.start();
  return { registry, clock, ...f };
}

describe('TrunkRegistry route choice', () => {
  it('orders by prefix then priority, leaving out disabled and outbound-less trunks', async () => {
    const us = trunk({ prefixes: ['+1'], priority: 10 });
    const any = trunk({ priority: 1 });
    const usBackup = trunk({ prefixes: ['+1'], priority: 20 });
    const off = trunk({ prefixes: ['+1'], priority: 1, enabled: false });
    const inboundOnly = trunk({ prefixes: ['+1'], priority: 1, supportsOutbound: false });
    const { registry } = await start([us, any, usBackup, off, inboundOnly]);
    const routes = registry.chooseTrunks('+15551234567');
    expect(routes.map((r) => r.trunk.id)).toEqual([us.id, usBackup.id, any.id]);
    expect(routes[0]).toMatchObject({ matchedPrefix: '+1', dialString: '+15551234567', requestUri: `sip:+15551234567@${us.proxyAddress}`, credentials: undefined });
    expect(routes[0].target).toEqual({ transport: 'UDP', address: us.proxyAddress, port: 5060 });
    expect(registry.chooseTrunks('+15551234567', { trunkId: any.id }).map((r) => r.trunk.id)).toEqual([any.id]);
  });

  it('builds the Request-URI, credentials and From domain from the trunk', async () => {
    const t = trunk({ proxyAddress: '203.0.113.5', proxyPort: 5080, transport: 'tcp', username: 'acct', hasPassword: true, realm: 'voip.example', fromDomain: 'voip.example', stripDigits: 1, dialPrefix: '00' });
    const { registry } = await start([t]);
    const [route] = registry.chooseTrunks('+442071234567');
    expect(route.requestUri).toBe('sip:00442071234567@203.0.113.5:5080;transport=tcp');
    expect(route.target).toEqual({ transport: 'TCP', address: '203.0.113.5', port: 5080 });
    expect(route.credentials).toEqual({ username: 'acct', password: 'pw', realm: 'voip.example' });
    expect(route.fromDomain).toBe('voip.example');
  });

  it('respects max concurrent channels: a full trunk is skipped until a channel is released', async () => {
    const small = trunk({ priority: 1, maxConcurrentCalls: 2 });
    const big = trunk({ priority: 2 });
    const { registry } = await start([small, big]);
    const a = registry.acquire(small.id);
    const b = registry.acquire(small.id);
    expect(a && b).toBeTruthy();
    expect(registry.acquire(small.id)).toBeUndefined();
    expect(registry.activeCalls(small.id)).toBe(2);
    expect(registry.chooseTrunks('+15550001111').map((r) => r.trunk.id)).toEqual([big.id]);
    expect(registry.liveState(small.id)).toMatchObject({ activeCalls: 2 });
    a!.release();
    expect(registry.chooseTrunks('+15550001111').map((r) => r.trunk.id)).toEqual([small.id, big.id]);
  });

  it('fails over on 503 to the next trunk and stops on 486', async () => {
    const first = trunk({ priority: 1 });
    const second = trunk({ priority: 2 });
    const third = trunk({ priority: 3 });
    const { registry } = await start([first, second, third]);
    /** The call layer's loop: try routes in order while the result says so. */
    const place = (answers: Map<string, number>): string[] => {
      const tried: string[] = [];
      for (const route of registry.chooseTrunks('+15550001111')) {
        const channel = registry.acquire(route.trunk.id)!;
        const status = answers.get(route.trunk.id) ?? 200;
        channel.release();
        tried.push(`${route.trunk.name}:${status}`);
        if (status < 300 || !registry.shouldFailover(status)) break;
      }
      return tried;
    };
    expect(place(new Map([[first.id, 503]]))).toEqual([`${first.name}:503`, `${second.name}:200`]);
    expect(place(new Map([[first.id, 486]]))).toEqual([`${first.name}:486`]);
    expect(place(new Map([[first.id, 408], [second.id, 500]]))).toEqual([`${first.name}:408`, `${second.name}:500`, `${third.name}:200`]);
  });

  it('takes a trunk whose calls keep timing out out of rotation (reported results feed health)', async () => {
    const flaky = trunk({ priority: 1 });
    const steady = trunk({ priority: 2 });
    const { registry, gauge, statuses } = await start([flaky, steady]);
    for (let i = 0; i < 3; i++) registry.reportResult(flaky.id, 'timeout');
    expect(registry.state(flaky.id)?.status).toBe('down');
    expect(gauge.up.get(flaky.id)).toBe(false);
    expect(statuses).toContainEqual([flaky.id, 'down']);
    expect(registry.chooseTrunks('+15550001111').map((r) => r.trunk.id)).toEqual([steady.id]);
    registry.reportResult(flaky.id, 486); // a callee's answer proves the trunk alive
    registry.reportResult(flaky.id, 200);
    expect(registry.state(flaky.id)?.status).toBe('up');
  });
});

describe('TrunkRegistry inbound identification', () => {
  it('identifies by allowed CIDR or proxy address and refuses unknown sources with 403 (counted)', async () => {
    const a = trunk({ inboundCidrs: ['203.0.113.0/24'], priority: 1 });
    const b = trunk({ proxyAddress: '198.51.100.200' });
    const noInbound = trunk({ inboundCidrs: ['192.0.2.0/24'], supportsInbound: false });
    const { registry } = await start([a, b, noInbound]);
    expect(registry.identify('203.0.113.77')?.id).toBe(a.id);
    expect(registry.identify('::ffff:203.0.113.77')?.id).toBe(a.id);
    expect(registry.identify('198.51.100.200')?.id).toBe(b.id);
    expect(registry.identify('192.0.2.1')).toBeUndefined();
    expect(registry.checkInbound('203.0.113.1')).toMatchObject({ kind: 'trunk', trunk: { id: a.id } });
    expect(registry.checkInbound('192.0.2.1')).toEqual({ kind: 'refused', status: 403, reason: 'Forbidden' });
    expect(registry.checkInbound('192.0.2.1', false)).toEqual({ kind: 'open' });
    expect(registry.inboundStats()).toEqual({ fromTrunk: 1, openAccepted: 1, refused: 1, challenged: 0, authenticated: 0, authFailed: 0 });
  });

  it('accepts unknown sources when open inbound is configured', async () => {
    const { registry } = await start([trunk({ inboundCidrs: ['203.0.113.0/24'] })], { openInbound: true });
    expect(registry.checkInbound('192.0.2.1')).toEqual({ kind: 'open' });
  });
});

describe('TrunkRegistry lifecycle', () => {
  it('registers trunks with register=true, re-registers on change, de-registers on delete and close', async () => {
    const reg = trunk({ register: true, username: 'acct', hasPassword: true, registerExpiresS: 600 });
    const { registry, source, sent, gauge, clock } = await start([reg]);
    const tick = async (): Promise<void> => {
      clock.advance(0);
      await flush();
    };
    await tick();
    const registers = (): Sent[] => sent.filter((s) => s.method === 'REGISTER');
    expect(registers()).toHaveLength(1);
    expect(registers()[0].uri).toBe(`sip:${reg.proxyAddress}`);
    expect(registers()[0].opts.headers).toContainEqual(['Contact', '<sip:acct@192.0.2.10:5060>']);
    expect(registry.states()[0]).toMatchObject({ id: reg.id, status: 'up', registration: { state: 'registered' } });
    expect(registry.liveState(reg.id)).toMatchObject({ status: 'up', registered: true });
    expect(gauge.up.get(reg.id)).toBe(true);

    // A priority change needs no new registration.
    source.records = [{ ...reg, priority: 5 }];
    await registry.reload();
    await tick();
    expect(registers()).toHaveLength(1);
    expect(registry.get(reg.id)?.priority).toBe(5);

    // A new expiry does: the old binding is removed, a new one made.
    source.records = [{ ...reg, registerExpiresS: 900 }];
    await registry.reload();
    await tick();
    expect(registers().map((s) => s.opts.headers?.find(([k]) => k === 'Expires')?.[1])).toEqual(['600', '0', '900']);

    // Deleted: de-registered and its metric series removed.
    source.records = [];
    await registry.reload();
    expect(registers().map((s) => s.opts.headers?.find(([k]) => k === 'Expires')?.[1])).toEqual(['600', '0', '900', '0']);
    expect(gauge.removed).toEqual([reg.id]);
    expect(registry.states()).toEqual([]);
  });

  it('marks a trunk with a failed registration down', async () => {
    const reg = trunk({ register: true, username: 'acct', hasPassword: true });
    const { registry, clock } = await start([reg], { answer: () => 403 });
    clock.advance(0);
    await flush();
    expect(registry.state(reg.id)).toMatchObject({ status: 'down', registration: { state: 'failed', lastCode: 403 } });
    expect(registry.chooseTrunks('+15550001111')).toEqual([]);
  });

  it('pings with OPTIONS at the interval and counts misses', async () => {
    const t = trunk();
    const clock = new VirtualClock();
    const f = fakes([t], (s) => (s.method === 'OPTIONS' ? 503 : 200));
    const registry = new TrunkRegistry({ requester: f.requester, trunks: f.source, clock, optionsIntervalMs: 10_000, downAfter: 2, reloadIntervalMs: 0, random: () => 0 });
    registries.push(registry);
    await registry.start();
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      await flush();
    }
    const pings = f.sent.filter((s) => s.method === 'OPTIONS');
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect(pings[0].uri).toBe(`sip:${t.proxyAddress}`);
    expect(registry.state(t.id)).toMatchObject({ status: 'down', health: 'down', lastPing: { result: 503 } });
  });
});

describe('overallStatus', () => {
  it('is down when health or registration says so, up when either is good, else unknown', () => {
    expect(overallStatus('down', 'registered')).toBe('down');
    expect(overallStatus('up', 'failed')).toBe('down');
    expect(overallStatus('unknown', 'registered')).toBe('up');
    expect(overallStatus('up', undefined)).toBe('up');
    expect(overallStatus('unknown', 'registering')).toBe('unknown');
  });
});
