import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AiBridge, BridgeConnectOutcome, BridgeSession, BridgeSessionOptions } from '../../../src/bridge';
import { PCMU } from '../../../src/dsp';
import { MockAiConnection, MockAiPlatform, MockAiProtocol } from '../../../scripts/mock-ai';
import { FakeCallPort, numberedFrame, until } from '../../unit/bridge/fake-call-port';

type Msg = Record<string, unknown>;
const dataOf = (m: Msg): Msg => m.data as Msg;

let mock: MockAiPlatform;
const sessions: BridgeSession[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

async function startMock(protocol: MockAiProtocol = 'native', extra: ConstructorParameters<typeof MockAiPlatform>[0] = {}): Promise<MockAiPlatform> {
  mock = new MockAiPlatform({ protocol, echo: false, ...extra });
  await mock.listen();
  return mock;
}

function session(port: FakeCallPort, opts: Partial<BridgeSessionOptions> = {}): BridgeSession {
  const s = new BridgeSession(port, {
    url: mock.url,
    protocol: mock.protocol,
    connectTimeoutMs: 3000,
    reconnectWindowMs: 5000,
    reconnectBackoff: { initialMs: 20, maxMs: 100 },
    pingIntervalMs: 0,
    ...opts,
  });
  sessions.push(s);
  return s;
}

/** A port number nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP server that accepts and never answers the WebSocket handshake. */
async function blackhole(): Promise<number> {
  const srv = createServer((sock) => sockets.push(sock));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return (srv.address() as AddressInfo).port;
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.end('test-teardown')));
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  await mock?.close();
});

function audioSeqs(conn: MockAiConnection): number[] {
  return conn.ofType('audio_data').map((m) => dataOf(m).seq as number);
}

describe('BridgeSession, native protocol, over a real WebSocket', () => {
  it('sends call_start first, then every frame in order with no gaps, including frames captured before the socket opened', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    const started = s.start();
    // Connect in parallel with answering: these frames arrive before the socket is open.
    for (let i = 0; i < 10; i++) port.emitFrame(numberedFrame(i));
    expect(await started).toEqual({ ok: true });
    for (let i = 10; i < 60; i++) port.emitFrame(numberedFrame(i));
    const conn = await mock.waitForConnection(0);
    await until(() => conn.ofType('audio_data').length === 60, 5000, '60 frames');
    expect(conn.messages[0].type).toBe('call_start');
    expect(dataOf(conn.messages[0])).toMatchObject({ call_id: 'call-1@test', from_number: '+15551230001', resumed: false, sample_rate: 8000 });
    expect(audioSeqs(conn)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const m of conn.ofType('audio_data')) {
      const d = dataOf(m);
      const bytes = Buffer.from(d.audio as string, 'base64');
      expect(bytes.length).toBe(320);
      expect(bytes.readInt16LE(0)).toBe(numberedFrame(d.seq as number)[0]);
    }
    expect(s.stats.framesDropped).toBe(0);
  });

  it('reports each DTMF digit once', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    port.emitDtmf({ digit: '5', source: 'rfc4733', durationMs: 100 });
    const conn = await mock.waitForConnection(0);
    await until(() => conn.ofType('dtmf').length === 1);
    port.emitFrame(numberedFrame(0));
    await until(() => conn.ofType('audio_data').length === 1);
    expect(conn.ofType('dtmf')).toHaveLength(1);
    expect(dataOf(conn.ofType('dtmf')[0])).toMatchObject({ call_id: 'call-1@test', digit: '5', source: 'rfc4733', duration: 100 });
  });

  it('queues AI audio for the caller, in any chunk size', async () => {
    await startMock();
    const port = new FakeCallPort();
    const latencies: number[] = [];
    const s = session(port, { metrics: { downlinkLatency: (sec) => latencies.push(sec) } });
    await s.start();
    const conn = await mock.waitForConnection(0);
    const speech = Int16Array.from({ length: 1234 }, (_, i) => (i * 37) % 3000);
    conn.sendAudio(speech.subarray(0, 1000));
    conn.sendAudio(speech.subarray(1000));
    await until(() => port.enqueuedSamples === 1234);
    const all = new Int16Array(1234);
    let o = 0;
    for (const c of port.enqueued) {
      all.set(c, o);
      o += c.length;
    }
    expect(Array.from(all)).toEqual(Array.from(speech));
    expect(latencies).toHaveLength(2);
  });

  it('clear drops queued audio at once and pending marks come back cleared', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.sendAudio(new Int16Array(8000));
    conn.sendMark('turn-1');
    await until(() => port.pendingMarks.length === 1);
    conn.sendClear();
    await until(() => conn.ofType('mark').length === 1);
    expect(port.clears).toBe(1);
    expect(port.queuedSamples).toBe(0);
    expect(dataOf(conn.ofType('mark')[0])).toEqual({ call_id: 'call-1@test', name: 'turn-1', event: 'cleared' });
  });

  it('reports a mark played once the audio before it has been sent', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.sendAudio(new Int16Array(800));
    conn.sendMark('greeting-done');
    await until(() => port.pendingMarks.length === 1);
    expect(conn.ofType('mark')).toHaveLength(0);
    port.drain();
    await until(() => conn.ofType('mark').length === 1);
    expect(dataOf(conn.ofType('mark')[0])).toMatchObject({ name: 'greeting-done', event: 'played' });
  });

  it('passes hangup, transfer and the other call actions to the port', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.send({ type: 'transfer', call_id: 'call-1@test', target: '+15551112222' });
    conn.send({ type: 'send_dtmf', data: { digits: '123' } });
    conn.send({ type: 'hold' });
    conn.send({ type: 'resume' });
    conn.send({ type: 'play', data: { file: 'moh.wav' } });
    conn.send({ type: 'record_start' });
    conn.send({ type: 'record_stop' });
    conn.send({ type: 'transcript', data: { speaker: 'agent', text: 'Hello' } });
    conn.send({ type: 'hangup', call_id: 'call-1@test' });
    await until(() => port.callsOf('hangup').length === 1);
    expect(port.calls.map((c) => c.method)).toEqual(['transfer', 'sendDtmf', 'hold', 'resume', 'play', 'recordStart', 'recordStop', 'transcript', 'hangup']);
    expect(port.callsOf('transfer')[0]).toEqual(['+15551112222', 'blind']);
    expect(port.callsOf('hangup')[0]).toEqual(['ai-hangup']);
  });

  it('answers a malformed or unknown message with an error and carries on', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    const errors: string[] = [];
    s.on('aierror', (e) => errors.push(e.code));
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.send('{not json');
    conn.send({ type: 'teleport' });
    conn.send({ type: 'hangup', call_id: 'someone-else' });
    conn.sendAudio(new Int16Array(160));
    await until(() => conn.ofType('error').length === 3 && port.enqueuedSamples === 160);
    expect(conn.ofType('error').map((m) => dataOf(m).code)).toEqual(['BRIDGE_MALFORMED_JSON', 'BRIDGE_UNKNOWN_TYPE', 'BRIDGE_CALL_ID_MISMATCH']);
    expect(String(dataOf(conn.ofType('error')[1]).message)).toContain('teleport');
    expect(errors).toEqual(['BRIDGE_MALFORMED_JSON', 'BRIDGE_UNKNOWN_TYPE', 'BRIDGE_CALL_ID_MISMATCH']);
    expect(port.callsOf('hangup')).toHaveLength(0);
    expect(s.state).toBe('open');
  });

  it('an AI that sends no audio is fine: the session stays open and keeps streaming', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    for (let i = 0; i < 20; i++) port.emitFrame(numberedFrame(i));
    await until(() => conn.ofType('audio_data').length === 20);
    expect(s.state).toBe('open');
    expect(port.enqueued).toHaveLength(0);
  });

  it('sends call_end with reason and duration on end(), then closes', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    await s.end('caller-hangup');
    await until(() => conn.closed);
    const end = conn.ofType('call_end');
    expect(end).toHaveLength(1);
    expect(dataOf(end[0]).reason).toBe('caller-hangup');
    expect(typeof dataOf(end[0]).duration).toBe('number');
    expect(conn.closeCode).toBe(1000);
    expect(port.frameListeners).toBe(0);
    expect(s.state).toBe('ended');
  });

  it('hangs the call up when the AI closes the socket normally without saying hangup', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    (await mock.waitForConnection(0)).close(1000);
    await until(() => s.state === 'ended');
    expect(port.callsOf('hangup')).toEqual([['ai-closed']]);
  });

  it('sends the bearer token and custom headers on the handshake', async () => {
    await startMock('native', { token: 's3cret' });
    const port = new FakeCallPort();
    expect(await session(port, { token: 's3cret', headers: { 'X-Tenant': 'acme' } }).start()).toEqual({ ok: true });
    const conn = await mock.waitForConnection(0);
    expect(conn.request.headers['x-tenant']).toBe('acme');
  });

  it('streams wideband 16 kHz when the number asks, and plays 16 kHz AI audio at 8 kHz', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port, { sampleRate: 16000 });
    await s.start();
    const conn = await mock.waitForConnection(0);
    for (let i = 0; i < 5; i++) port.emitFrame(numberedFrame(i));
    await until(() => conn.ofType('audio_data').length === 5);
    expect(dataOf(conn.messages[0]).sample_rate).toBe(16000);
    for (const m of conn.ofType('audio_data')) expect(Buffer.from(dataOf(m).audio as string, 'base64').length).toBe(640);
    conn.send({ type: 'audio_data', data: { audio: Buffer.alloc(3200).toString('base64') } });
    await until(() => port.enqueuedSamples > 0);
    expect(port.enqueuedSamples).toBe(800);
  });
});

describe('BridgeSession connection failures and recovery', () => {
  it('reports ai-unavailable when nothing listens', async () => {
    await startMock();
    const port = new FakeCallPort();
    const outcomes: BridgeConnectOutcome[] = [];
    const s = session(port, { url: `ws://127.0.0.1:${await deadPort()}/`, metrics: { connectAttempt: (r) => outcomes.push(r) } });
    const unavailable = new Promise((r) => s.once('unavailable', r));
    const result = await s.start();
    expect(result).toMatchObject({ ok: false, reason: 'ai-unavailable' });
    expect(await unavailable).toMatchObject({ phase: 'connect' });
    expect(outcomes).toEqual(['failed']);
    expect(s.state).toBe('ended');
    expect(port.frameListeners).toBe(0);
  });

  it('reports ai-unavailable when the AI does not answer within the connect timeout', async () => {
    await startMock();
    const port = new FakeCallPort();
    const outcomes: BridgeConnectOutcome[] = [];
    const s = session(port, { url: `ws://127.0.0.1:${await blackhole()}/`, connectTimeoutMs: 200, metrics: { connectAttempt: (r) => outcomes.push(r) } });
    const result = await s.start();
    expect(result).toMatchObject({ ok: false, reason: 'ai-unavailable' });
    expect(outcomes).toEqual(['timeout']);
  });

  it('reports ai-unavailable when the handshake is refused (HTTP 401)', async () => {
    await startMock('native', { token: 'right' });
    const port = new FakeCallPort();
    const outcomes: BridgeConnectOutcome[] = [];
    const result = await session(port, { token: 'wrong', metrics: { connectAttempt: (r) => outcomes.push(r) } }).start();
    expect(result).toMatchObject({ ok: false, reason: 'ai-unavailable' });
    if (!result.ok) expect(result.detail).toContain('401');
    expect(outcomes).toEqual(['rejected']);
  });

  it('reconnects a dropped socket, resends call_start with resumed: true and delivers frames captured meanwhile', async () => {
    await startMock();
    const port = new FakeCallPort();
    let reconnects = 0;
    const s = session(port, { metrics: { reconnect: () => reconnects++ } });
    await s.start();
    const first = await mock.waitForConnection(0);
    for (let i = 0; i < 5; i++) port.emitFrame(numberedFrame(i));
    await until(() => first.ofType('audio_data').length === 5);
    const reopened = new Promise<{ resumed: boolean }>((r) => s.once('open', r));
    first.kill();
    await until(() => s.state === 'reconnecting');
    for (let i = 5; i < 10; i++) port.emitFrame(numberedFrame(i));
    expect(await reopened).toEqual({ resumed: true });
    const second = await mock.waitForConnection(1);
    await until(() => second.ofType('audio_data').length === 5);
    expect(second.messages[0].type).toBe('call_start');
    expect(dataOf(second.messages[0]).resumed).toBe(true);
    expect(audioSeqs(second)).toEqual([5, 6, 7, 8, 9]);
    expect(reconnects).toBe(1);
    expect(s.stats.reconnects).toBe(1);
  });

  it('gives up after the reconnection window and reports the AI unavailable', async () => {
    await startMock();
    const port = new FakeCallPort();
    const s = session(port, { reconnectWindowMs: 300 });
    await s.start();
    await mock.waitForConnection(0);
    const unavailable = new Promise<{ phase: string }>((r) => s.once('unavailable', r));
    await mock.close();
    expect((await unavailable).phase).toBe('reconnect');
    expect(s.state).toBe('ended');
  });

  it('a slow AI never blocks: past the socket bound the oldest frames are dropped and counted', async () => {
    await startMock();
    const port = new FakeCallPort();
    let dropped = 0;
    const s = session(port, { maxBufferedBytes: 16 * 1024, pendingFrames: 50, metrics: { uplinkFramesDropped: (n) => (dropped += n) } });
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.pauseReading();
    let seq = 0;
    // Feed frames faster than real time until the kernel buffers fill and the bridge starts dropping.
    while (s.stats.framesDropped === 0 && seq < 60_000) {
      for (let i = 0; i < 200; i++) port.emitFrame(numberedFrame(seq++));
      await new Promise((r) => setImmediate(r));
    }
    expect(s.stats.framesDropped).toBeGreaterThan(0);
    expect(dropped).toBe(s.stats.framesDropped);
    expect(s.pendingFrames).toBeLessThanOrEqual(50);
    const last = seq - 1;
    conn.resumeReading();
    // Frames keep coming at the media clock; the backlog drains as the AI reads again.
    await until(() => {
      port.emitFrame(numberedFrame(seq++));
      return audioSeqs(conn).includes(last);
    }, 20_000, 'the newest frame');
    const seqs = audioSeqs(conn);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    // Dropped frames show as a gap in seq, which is how the AI can tell.
    expect(seqs.length).toBeLessThan(seqs[seqs.length - 1] + 1);
    expect(s.state).toBe('open');
  });
});

describe('BridgeSession, Twilio Media Streams mode', () => {
  it('speaks connected/start/media/dtmf/mark/stop and plays mu-law from the app', async () => {
    await startMock('twilio');
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    for (let i = 0; i < 3; i++) port.emitFrame(numberedFrame(i));
    port.emitDtmf({ digit: '9', source: 'inband', durationMs: 90 });
    await until(() => conn.ofType('media').length === 3 && conn.ofType('dtmf').length === 1);
    expect(conn.messages.slice(0, 2).map((m) => m.event)).toEqual(['connected', 'start']);
    const media = conn.ofType('media')[0];
    expect(media).toMatchObject({ sequenceNumber: '2', streamSid: conn.streamSid, media: { track: 'inbound', chunk: '1', timestamp: '0' } });
    expect((conn.ofType('dtmf')[0].dtmf as Msg).digit).toBe('9');

    const speech = Int16Array.from({ length: 480 }, (_, i) => ((i * 97) % 4000) - 2000);
    conn.sendAudio(speech);
    conn.sendMark('m1');
    await until(() => port.enqueuedSamples === 480 && port.pendingMarks.length === 1);
    expect(Array.from(port.enqueued[0])).toEqual(Array.from(PCMU.decode(PCMU.encode(speech))));
    conn.sendClear();
    await until(() => conn.ofType('mark').length === 1);
    expect(conn.ofType('mark')[0]).toMatchObject({ event: 'mark', streamSid: conn.streamSid, mark: { name: 'm1' } });
    await s.end('completed');
    await until(() => conn.ofType('stop').length === 1);
    expect((conn.ofType('stop')[0].stop as Msg).callSid).toBe(conn.callId);
  });

  it('counts and drops a bad app message without answering (Twilio never does)', async () => {
    await startMock('twilio');
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.send({ event: 'media', media: {} });
    conn.send({ event: 'clear' });
    await until(() => port.clears === 1);
    expect(s.stats.aiErrors).toBe(1);
    expect(conn.ofType('error')).toHaveLength(0);
  });
});

describe('BridgeSession, jambonz mode', () => {
  it('negotiates audio.jambonz.org, sends metadata then binary L16, plays binary audio back and handles killAudio/marks/disconnect', async () => {
    await startMock('jambonz', { echo: true });
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    expect(conn.ws.protocol).toBe('audio.jambonz.org');
    await until(() => conn.messages.length >= 1);
    expect(conn.messages[0]).toMatchObject({ callSid: 'call-1@test', sampleRate: 8000, mixType: 'mono' });
    for (let i = 0; i < 4; i++) port.emitFrame(numberedFrame(i));
    await until(() => conn.binary.length === 4 && port.enqueuedSamples === 640);
    for (const b of conn.binary) expect(b.length).toBe(320);
    expect(Array.from(port.enqueued[0])).toEqual(Array.from(numberedFrame(0)));

    conn.send({ type: 'mark', data: { name: 'a' } });
    conn.send({ type: 'mark', data: { name: 'b' } });
    await until(() => port.pendingMarks.length === 2);
    conn.send({ type: 'clearMarks' });
    await until(() => conn.ofType('mark').length === 2);
    port.drain(); // already answered: not reported twice
    conn.send({ type: 'mark', data: { name: 'c' } });
    await until(() => port.pendingMarks.length === 1);
    conn.send({ type: 'killAudio' });
    await until(() => conn.ofType('mark').length === 3);
    expect(conn.ofType('mark').map((m) => dataOf(m))).toEqual([
      { name: 'a', event: 'cleared' },
      { name: 'b', event: 'cleared' },
      { name: 'c', event: 'cleared' },
    ]);
    port.emitDtmf({ digit: '3', source: 'rfc4733', durationMs: 50 });
    await until(() => conn.digits.length === 1);
    conn.send({ type: 'disconnect' });
    await until(() => port.callsOf('hangup').length === 1);
    expect(port.callsOf('hangup')[0]).toEqual(['ai-disconnect']);
  });

  it('answers playAudio with playDone once it has played', async () => {
    await startMock('jambonz');
    const port = new FakeCallPort();
    const s = session(port);
    await s.start();
    const conn = await mock.waitForConnection(0);
    conn.send({ type: 'playAudio', data: { audioContent: Buffer.alloc(640).toString('base64'), audioContentType: 'raw', sampleRate: 16000, id: 'p1' } });
    await until(() => port.enqueuedSamples === 160);
    port.drain();
    await until(() => conn.ofType('playDone').length === 1);
    expect(conn.ofType('playDone')[0]).toEqual({ type: 'playDone', data: { id: 'p1' } });
  });
});

describe('AiBridge', () => {
  it('builds sessions from config and per-number overrides, tracks them by Call-ID and closes them all', async () => {
    await startMock();
    const bridge = new AiBridge({ platformUrl: 'ws://127.0.0.1:1/unused', token: undefined, protocol: 'twilio', connectTimeoutMs: 2000, reconnectS: 0, session: { pingIntervalMs: 0 } });
    expect(bridge.canBridge()).toBe(true);
    const port = new FakeCallPort();
    const { session: s, result } = await bridge.connect(port, { url: mock.url, protocol: 'native' });
    sessions.push(s);
    expect(result).toEqual({ ok: true });
    expect(s.codec.protocol).toBe('native');
    expect(bridge.get('call-1@test')).toBe(s);
    expect(bridge.openConnections).toBe(1);
    expect(() => bridge.createSession(port)).toThrow(TypeError);
    await bridge.closeAll();
    expect(bridge.activeSessions).toBe(0);
    expect(new AiBridge({ platformUrl: undefined, token: undefined, protocol: 'native', connectTimeoutMs: 1000, reconnectS: 0 }).canBridge()).toBe(false);
  });
});
