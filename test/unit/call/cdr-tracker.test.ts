import { Call, CdrTracker, CdrWriter, type CallStore, type CdrEnd, type CdrPatch, type CdrStart, type JsonObject, type SipLeg } from '../../../src/call';

/** A CallStore in memory, recording every write in order. */
class MemoryStore implements CallStore {
  readonly log: string[] = [];
  readonly rows = new Map<string, CdrStart & CdrPatch & Partial<CdrEnd> & { dtmf: string }>();
  readonly events: { callId: string; type: string; data: JsonObject }[] = [];
  async createCdr(s: CdrStart): Promise<void> {
    this.log.push('create');
    this.rows.set(s.callId, { ...s, dtmf: '' });
  }
  async updateCdr(callId: string, patch: CdrPatch): Promise<void> {
    this.log.push(`update:${patch.status ?? Object.keys(patch).join(',')}`);
    Object.assign(this.rows.get(callId)!, patch);
  }
  async endCdr(callId: string, end: CdrEnd): Promise<void> {
    this.log.push(`end:${end.status}`);
    Object.assign(this.rows.get(callId)!, end);
  }
  async appendEvent(callId: string, type: string, data: JsonObject): Promise<void> {
    this.log.push(`event:${type}`);
    this.events.push({ callId, type, data });
  }
  async appendDtmf(callId: string, digits: string): Promise<void> {
    this.rows.get(callId)!.dtmf += digits;
  }
  async closeOpenCalls(): Promise<number> {
    return 0;
  }
  async isBlocked(): Promise<boolean> {
    return false;
  }
  async numberRouting(): Promise<undefined> {
    return undefined;
  }
}

const stats = { framesSent: 0, rtp: { packetsSent: 500, packetsReceived: 480, bytesSent: 80000, bytesReceived: 76800, packetsLost: 3, jitterMs: 1.234 } };
const fakeLeg = { callId: 'leg-a', codec: 'PCMA', mediaStats: () => stats } as unknown as SipLeg;
const log = { warn: () => undefined };

function setup(): { store: MemoryStore; writer: CdrWriter; call: Call; metrics: string[]; hooks: JsonObject[] } {
  const store = new MemoryStore();
  const writer = new CdrWriter(log);
  const metrics: string[] = [];
  const hooks: JsonObject[] = [];
  const tracker = new CdrTracker({
    store,
    writer,
    instanceId: 'i1',
    metrics: {
      started: (d) => metrics.push(`started:${d}`),
      ended: (d, s) => metrics.push(`ended:${d}:${s}`),
      setupSeconds: () => metrics.push('setup'),
      durationSeconds: () => metrics.push('duration'),
    },
    webhooks: { notify: (_url: string, _key: string, p: JsonObject) => hooks.push(p) !== 0 } as never,
  });
  const call = new Call({ id: 'c1', direction: 'inbound', from: '+1555', to: '1000', startedAt: 1_700_000_000_000, route: { kind: 'echo' }, a: fakeLeg, webhookUrl: 'http://hook' });
  tracker.track(call);
  return { store, writer, call, metrics, hooks };
}

describe('CdrTracker', () => {
  it('writes the CDR first, then one event and update per state change, then the end with media stats', async () => {
    const { store, writer, call, metrics, hooks } = setup();
    call.transition('ringing');
    call.transition('answered', {}, 1_700_000_001_000);
    call.dtmf('5', 'rfc4733', 'a');
    call.transition('held', { by: 'api' });
    call.transition('answered', { by: 'api' });
    call.finish({ state: 'completed', cause: 'normal-clearing', side: 'caller', sipCode: 200 }, 1_700_000_011_000);
    await writer.flushAll();
    expect(store.log[0]).toBe('create');
    expect(store.log).toEqual([
      'create',
      'event:initiated',
      'event:ringing',
      'update:ringing',
      'event:answered',
      'update:answered',
      'event:dtmf',
      'event:held',
      'event:answered',
      'event:completed',
      'update:rtpPacketsSent,rtpPacketsReceived,rtpBytesSent,rtpBytesReceived,rtpPacketsLost,rtpJitterMs,codec',
      'end:completed',
    ]);
    const row = store.rows.get('c1')!;
    expect(row).toMatchObject({ status: 'completed', sipCode: 200, hangupCause: 'normal-clearing', hangupSide: 'caller', codec: 'PCMA', rtpPacketsLost: 3, rtpJitterMs: 1.23, dtmf: '5' });
    expect(row.answeredAt).toEqual(new Date(1_700_000_001_000));
    expect(metrics).toEqual(['started:inbound', 'setup', 'ended:inbound:completed', 'duration']);
    expect(hooks.map((h) => h['event'])).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(hooks[3]).toMatchObject({ sip_code: 200, duration: 10, hangup_cause: 'normal-clearing' });
  });

  it('records a refused call as rejected, never answered', async () => {
    const { store, writer, call } = setup();
    call.finish({ state: 'failed', cause: 'blocked', side: 'system', sipCode: 603, rejected: true });
    await writer.flushAll();
    expect(store.rows.get('c1')).toMatchObject({ status: 'rejected', sipCode: 603, hangupCause: 'blocked' });
    expect(store.log.filter((l) => l.startsWith('update:answered'))).toEqual([]);
  });
});

describe('Call', () => {
  it('refuses illegal moves and ends once', () => {
    const { call } = setup();
    expect(call.transition('held')).toBe(false);
    expect(call.transition('ringing')).toBe(true);
    expect(call.transition('ringing')).toBe(false);
    expect(call.finish({ state: 'canceled', cause: 'caller-cancel', side: 'caller', sipCode: 487 })).toBe(true);
    expect(call.state).toBe('canceled');
    expect(call.finish({ state: 'completed', cause: 'x', side: 'system', sipCode: undefined })).toBe(false);
    expect(call.transition('answered')).toBe(false);
  });

  it('an answered call always completes, whatever state the ending names', () => {
    const { call } = setup();
    call.transition('answered');
    call.finish({ state: 'failed', cause: 'media-timeout', side: 'system', sipCode: undefined });
    expect(call.state).toBe('completed');
    expect(call.ending?.cause).toBe('media-timeout');
  });
});
