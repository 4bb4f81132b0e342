/**
 * Transaction layer throughput and retention: `node --expose-gc --require ./bench/register.js bench/transaction.ts`.
 *
 * Two TransactionLayers (UAC and UAS) talk over an in-process loop: every message is serialized and parsed again,
 * as on the wire, and delivered in order. One call = INVITE / 200 / ACK (the ACK for a 2xx is outside the
 * transaction, RFC 3261 §13.2.2.4) + BYE / 200. Virtual time does not advance, so every server transaction stays
 * where RFC 3261 keeps it after its final response on UDP: the INVITE one in Accepted (Timer L, RFC 6026 §7.1) and
 * the BYE one in Completed (Timer J, §17.2.2), 32 s each, which at 3,000 calls/s is ~190,000 live transactions.
 *
 * Prints:
 *   1. calls/s and transactions/s through both layers (CPU time, best of several rounds);
 *   2. heap per live server transaction after GC (needs --expose-gc): the UAS layer alone, its client peer kept
 *      out of the figure by measuring it before and after the UAS side's transactions are released;
 *   3. the timer wheel's cost: schedule + cancel of one long timer, and a tick over a full bucket.
 * Figures are printed, not asserted: the machine is shared.
 */
import {
  createRequest,
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  parseMessage,
  type SipRequest,
  type SipResponse,
} from '../src/sip/message';
import {
  TimerWheel,
  TransactionLayer,
  type ServerTransaction,
  type TransactionUser,
  type TransportTarget,
  type WheelEntry,
} from '../src/sip/transaction';
import { VirtualClock, type Clock, type TimerHandle } from '../src/util';

/**
 * Time stands still: timers are recorded and cancelled in O(1) but never fire, so every transaction stays in the
 * state its last message left it in. (The test VirtualClock's linear cancel would dominate the figures.)
 */
class FrozenClock implements Clock {
  private seq = 0;
  private readonly pending = new Set<number>();
  now(): number {
    return 1_000;
  }
  wallNow(): number {
    return 1_700_000_000_000;
  }
  setTimeout(_fn: () => void, _ms: number): TimerHandle {
    const id = ++this.seq;
    this.pending.add(id);
    return { id };
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.pending.delete(handle.id);
  }
}

interface Addr extends TransportTarget {
  readonly transport: string;
  readonly address: string;
  readonly port: number;
}

const UAC: Addr = { transport: 'UDP', address: '198.51.100.20', port: 5060 };
const UAS: Addr = { transport: 'UDP', address: '203.0.113.7', port: 5060 };

const SDP = Buffer.from(
  'v=0\r\no=- 3856734520 3856734520 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\n' +
    'm=audio 40376 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n' +
    'a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n',
);
const ANSWER = Buffer.from(SDP.toString('latin1').replace(/198\.51\.100\.20/g, '203.0.113.7').replace('40376', '31000'));

/** The wire: FIFO of datagrams, each parsed on delivery like a UDP transport does. */
class Loop {
  private readonly queue: Array<{ bytes: Buffer; from: Addr; to: Addr }> = [];
  readonly layers = new Map<string, TransactionLayer<Addr>>();
  delivered = 0;

  send(from: Addr, msg: SipRequest | SipResponse, to: Addr): void {
    this.queue.push({ bytes: msg.serialize(), from, to });
  }

  run(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const { bytes, from, to } = this.queue[i];
      const r = parseMessage(bytes, { datagram: true });
      if (!r.ok) throw r.error;
      this.delivered++;
      this.layers.get(to.address)?.receive(r.msg, from);
    }
    this.queue.length = 0;
  }
}

class Uas implements TransactionUser<Addr> {
  readonly tag = generateTag();
  onRequest(tx: ServerTransaction<Addr>, req: SipRequest): void {
    if (req.method === 'INVITE') {
      tx.respond(createResponse(req, 200, undefined, { toTag: this.tag, body: ANSWER, contentType: 'application/sdp', headers: [['Contact', '<sip:203.0.113.7:5060>']] }));
    } else tx.respond(createResponse(req, 200, undefined, { toTag: this.tag }));
  }
  onAck(): void {}
  onStrayResponse(): void {}
}

class Uac implements TransactionUser<Addr> {
  layer!: TransactionLayer<Addr>;
  completed = 0;
  onRequest(tx: ServerTransaction<Addr>, req: SipRequest): void {
    tx.respond(createResponse(req, 501));
  }
  onAck(): void {}
  onStrayResponse(): void {}

  call(): void {
    const callId = generateCallId('198.51.100.20');
    const fromTag = generateTag();
    const from = `"Alice Caller" <sip:+12125550199@carrier.example.net>;tag=${fromTag}`;
    const invite = createRequest({
      method: 'INVITE',
      uri: 'sip:+14155550123@voice.example.com:5060',
      headers: [
        ['Via', `SIP/2.0/UDP 198.51.100.20:5060;branch=${generateBranch()};rport`],
        ['Max-Forwards', '70'],
        ['From', from],
        ['To', '<sip:+14155550123@voice.example.com>'],
        ['Call-ID', callId],
        ['CSeq', '1 INVITE'],
        ['Contact', '<sip:+12125550199@198.51.100.20:5060>'],
        ['Allow', 'INVITE, ACK, CANCEL, OPTIONS, BYE'],
        ['User-Agent', 'CarrierSBC/4.2'],
      ],
      body: SDP,
      contentType: 'application/sdp',
    });
    this.layer.sendRequest(invite, UAS, {
      onFinal: (res: SipResponse) => {
        const toHeader = res.getHeader('To') ?? '';
        // RFC 3261 §13.2.2.4: the ACK for a 2xx is a new transaction-less request; then hang up with BYE.
        const common: Array<[string, string]> = [
          ['Max-Forwards', '70'],
          ['From', from],
          ['To', toHeader],
          ['Call-ID', callId],
        ];
        const ack = createRequest({
          method: 'ACK',
          uri: 'sip:203.0.113.7:5060',
          headers: [['Via', `SIP/2.0/UDP 198.51.100.20:5060;branch=${generateBranch()};rport`], ...common, ['CSeq', '1 ACK']],
        });
        void this.layer.sendStateless(ack, UAS);
        const bye = createRequest({
          method: 'BYE',
          uri: 'sip:203.0.113.7:5060',
          headers: [['Via', `SIP/2.0/UDP 198.51.100.20:5060;branch=${generateBranch()};rport`], ...common, ['CSeq', '2 BYE']],
        });
        this.layer.sendRequest(bye, UAS, { onFinal: () => this.completed++ });
      },
    });
  }
}

function setup(): { loop: Loop; uac: Uac; uacLayer: TransactionLayer<Addr>; uasLayer: TransactionLayer<Addr> } {
  const clock = new FrozenClock();
  const loop = new Loop();
  const uac = new Uac();
  const uacLayer = new TransactionLayer<Addr>({ clock, tu: uac, send: (m, t) => loop.send(UAC, m, t) });
  const uasLayer = new TransactionLayer<Addr>({ clock, tu: new Uas(), send: (m, t) => loop.send(UAS, m, t) });
  uac.layer = uacLayer;
  loop.layers.set(UAC.address, uacLayer);
  loop.layers.set(UAS.address, uasLayer);
  return { loop, uac, uacLayer, uasLayer };
}

function runCalls(n: number, s: ReturnType<typeof setup>): void {
  for (let i = 0; i < n; i++) {
    s.uac.call();
    s.loop.run();
  }
}

function throughput(): void {
  let best = Infinity;
  const perRound = 20_000;
  for (let round = 0; round < 5; round++) {
    const s = setup();
    runCalls(2_000, s); // warm-up (JIT)
    const cpu0 = process.cpuUsage();
    runCalls(perRound, s);
    const d = process.cpuUsage(cpu0);
    best = Math.min(best, (d.user + d.system) / perRound);
    if (s.uac.completed !== 2_000 + perRound) throw new Error(`only ${s.uac.completed} calls completed`);
    s.uacLayer.close();
    s.uasLayer.close();
  }
  const callsPerS = 1e6 / best;
  console.log(`calls (INVITE/200/ACK + BYE/200, both layers, parse+serialize included): ${Math.round(callsPerS).toLocaleString('en-US')} calls/s, ${best.toFixed(1)} us/call`);
  console.log(`transactions (4 per call: ICT, IST, NICT, NIST):                        ${Math.round(callsPerS * 4).toLocaleString('en-US')} tx/s`);
}

function heapNow(gc: () => void): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function retention(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.log('heap per live transaction: run with node --expose-gc to measure');
    return;
  }
  const n = 20_000;
  const s = setup();
  runCalls(500, s); // warm-up (JIT); these transactions stay live too
  const clientBefore = s.uacLayer.size;
  const before = heapNow(gc);
  runCalls(n, s);
  const withAll = heapNow(gc);
  const liveServer = s.uasLayer.size;
  const liveClient = s.uacLayer.size - clientBefore;
  // Release the UAS side only: closing it drops its transactions (and their wheel entries) but leaves the UAC's.
  s.uasLayer.close();
  const withoutServer = heapNow(gc);
  const perServer = (withAll - withoutServer) / liveServer;
  const perClient = (withoutServer - before) / liveClient;
  console.log(`live after ${n.toLocaleString('en-US')} calls: ${liveServer.toLocaleString('en-US')} server tx (IST Accepted + NIST Completed), ${liveClient.toLocaleString('en-US')} client tx`);
  console.log(`heap per live server transaction (after GC, heap + array buffers): ${Math.round(perServer).toLocaleString('en-US')} bytes`);
  console.log(`heap per live client transaction (ICT Accepted + NICT Completed):  ${Math.round(perClient).toLocaleString('en-US')} bytes`);
  console.log(`at 3,000 calls/s (~${(3000 * 2 * 32).toLocaleString('en-US')} live server tx): ~${Math.round((perServer * 3000 * 2 * 32) / 1048576).toLocaleString('en-US')} MiB`);

  // Retransmitted requests are still matched and answered from the retained bytes.
  const s2 = setup();
  const uasSent: Buffer[] = [];
  const send2 = s2.loop.send.bind(s2.loop);
  s2.loop.send = (from, msg, to) => {
    if (from.address === UAS.address) uasSent.push(msg.serialize());
    send2(from, msg, to);
  };
  let byeBytes: Buffer | undefined;
  const sendUac = s2.loop.send.bind(s2.loop);
  s2.loop.send = (from, msg, to) => {
    if (from.address === UAC.address && msg.isRequest && (msg as SipRequest).method === 'BYE') byeBytes = msg.serialize();
    sendUac(from, msg, to);
  };
  runCalls(1, s2);
  const finals = uasSent.length;
  const again = parseMessage(byeBytes as Buffer, { datagram: true });
  if (!again.ok) throw again.error;
  s2.uasLayer.receive(again.msg, UAC);
  const resent = uasSent.length === finals + 1 && uasSent[finals].equals(uasSent[finals - 1]);
  console.log(`retransmitted BYE answered with the identical 200 bytes: ${resent ? 'yes' : 'NO'}`);
  s2.uacLayer.close();
  s2.uasLayer.close();
}

class Entry implements WheelEntry {
  wheelTick = -1;
  wheelIndex = -1;
  fired = 0;
  onWheelTimer(): void {
    this.fired++;
  }
}

function wheel(): void {
  const clock = new VirtualClock();
  const w = new TimerWheel(clock);
  const entries: Entry[] = [];
  for (let i = 0; i < 200_000; i++) entries.push(new Entry());
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const cpu0 = process.cpuUsage();
    for (const e of entries) w.schedule(e, 32_000);
    for (const e of entries) w.cancel(e);
    const d = process.cpuUsage(cpu0);
    best = Math.min(best, ((d.user + d.system) * 1000) / entries.length);
  }
  console.log(`timer wheel: schedule + cancel of a 32 s timer with 200,000 pending: ${best.toFixed(0)} ns`);
  // 3,000 calls/s x 2 server transactions: 600 entries fall due per 100 ms tick.
  for (let i = 0; i < 200_000; i++) w.schedule(entries[i], (i % 320) * 100 + 100);
  const cpu0 = process.cpuUsage();
  clock.advance(32_100);
  const d = process.cpuUsage(cpu0);
  const fired = entries.reduce((a, e) => a + e.fired, 0);
  console.log(`timer wheel: firing ${fired.toLocaleString('en-US')} entries over 321 ticks: ${(((d.user + d.system) * 1000) / fired).toFixed(0)} ns per entry`);
}

console.log(`node ${process.version}`);
throughput();
retention();
wheel();
