/**
 * SIP message layer throughput: `node --require ./bench/register.js bench/parse.ts`.
 *
 * Measures, on one core, a realistic ~1,060-byte INVITE (2 Via, Record-Route, Contact, Allow, Supported, SDP):
 *   1. parse + read the transaction/dialog keys (top Via branch, Call-ID, CSeq, From/To tags) — target >= 250k/s
 *   2. parse + what the transaction layer reads to match a request (top Via sent-by and branch, CSeq, To tag)
 *   3. parse + read every header value and every typed header
 *   4. serialize() of an unmodified message (original bytes)
 *   5. serialize() after a change (canonical form)
 * Figures are printed, not asserted: the machine is shared.
 */
import { formatVia, parseMessage } from '../src/sip/message';
import type { SipRequest } from '../src/sip/message';

const SDP =
  'v=0\r\n' +
  'o=- 3856734520 3856734520 IN IP4 198.51.100.20\r\n' +
  's=-\r\n' +
  'c=IN IP4 198.51.100.20\r\n' +
  't=0 0\r\n' +
  'm=audio 40376 RTP/AVP 0 8 101\r\n' +
  'a=rtpmap:0 PCMU/8000\r\n' +
  'a=rtpmap:8 PCMA/8000\r\n' +
  'a=rtpmap:101 telephone-event/8000\r\n' +
  'a=fmtp:101 0-16\r\n' +
  'a=ptime:20\r\n' +
  'a=sendrecv\r\n';

const INVITE =
  'INVITE sip:+14155550123@voice.example.com:5060;transport=udp SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-524287-1---3c1d3e2f6b7a8c9d;rport\r\n' +
  'Via: SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK776asdhds;rport=5060\r\n' +
  'Record-Route: <sip:203.0.113.7:5060;lr;ftag=as5f2a1b3c>\r\n' +
  'Max-Forwards: 69\r\n' +
  'From: "Alice Caller" <sip:+12125550199@carrier.example.net>;tag=as5f2a1b3c\r\n' +
  'To: <sip:+14155550123@voice.example.com>\r\n' +
  'Call-ID: 4f2c1a9b7e3d41c8a0b6f5e2d9c7a1b3@198.51.100.20\r\n' +
  'CSeq: 102 INVITE\r\n' +
  'Contact: <sip:+12125550199@198.51.100.20:5060;transport=udp>\r\n' +
  'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PRACK, UPDATE\r\n' +
  'Supported: replaces, timer, 100rel\r\n' +
  'Session-Expires: 1800;refresher=uac\r\n' +
  'User-Agent: CarrierSBC/4.2\r\n' +
  'Content-Type: application/sdp\r\n' +
  `Content-Length: ${Buffer.byteLength(SDP)}\r\n` +
  '\r\n' +
  SDP;

const BUF = Buffer.from(INVITE, 'latin1');
let sink = 0;

function keys(buf: Buffer): void {
  const r = parseMessage(buf, { datagram: true });
  if (!r.ok) throw r.error;
  const m = r.msg;
  sink += (m.branch?.length ?? 0) + m.callId.length + m.cseq.seq + (m.fromTag?.length ?? 0) + (m.toTag?.length ?? 1);
}

function transactionView(buf: Buffer): void {
  const r = parseMessage(buf, { datagram: true });
  if (!r.ok) throw r.error;
  const m = r.msg;
  const via = m.via;
  sink += via.host.length + (via.port ?? 0) + (m.branch?.length ?? 0) + m.cseq.method.length + (m.toTag?.length ?? 1);
}

function full(buf: Buffer): void {
  const r = parseMessage(buf, { datagram: true });
  if (!r.ok) throw r.error;
  const m = r.msg as SipRequest;
  for (const n of ['Via', 'Record-Route', 'Max-Forwards', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Allow', 'Supported', 'Session-Expires', 'User-Agent', 'Content-Type', 'Content-Length']) {
    sink += m.getHeaders(n).length;
  }
  sink += m.vias.length + m.recordRoutes.length + m.contacts.length + m.routes.length + (m.maxForwards ?? 0);
  sink += m.uri.host.length + m.from.uri.host.length + m.to.uri.host.length + m.body.length;
}

const PARSED = (() => {
  const r = parseMessage(BUF, { datagram: true });
  if (!r.ok) throw r.error;
  return r.msg;
})();

function serializeUnmodified(): void {
  sink += PARSED.serialize().length;
}

function serializeModified(): void {
  const r = parseMessage(BUF, { datagram: true });
  if (!r.ok) throw r.error;
  const m = r.msg;
  // A proxy-like change: decrement Max-Forwards and push our own Via.
  m.setHeader('Max-Forwards', String((m.maxForwards ?? 70) - 1));
  m.prependHeader('Via', formatVia({ transport: 'UDP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bKbench1', params: new Map() }));
  sink += m.serialize().length;
}

/**
 * Runs `fn` for at least `minMs` of CPU time, `rounds` times, and reports the best round. ops/s is computed from
 * this process's CPU time (process.cpuUsage), not wall time, so that other load on a shared machine distorts the
 * figure less; the wall-clock rate of the same round is printed beside it.
 */
function bench(name: string, fn: () => void, minMs = 1000, rounds = 3): void {
  for (let i = 0; i < 20000; i++) fn(); // warm-up (JIT)
  let bestNs = Infinity;
  let bestWallOps = 0;
  for (let round = 0; round < rounds; round++) {
    let iterations = 0;
    const wall0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    let cpuUs = 0;
    while (cpuUs < minMs * 1000) {
      for (let i = 0; i < 10000; i++) fn();
      iterations += 10000;
      const d = process.cpuUsage(cpu0);
      cpuUs = d.user + d.system;
    }
    const ns = (cpuUs * 1000) / iterations;
    if (ns < bestNs) {
      bestNs = ns;
      bestWallOps = (iterations * 1e9) / Number(process.hrtime.bigint() - wall0);
    }
  }
  console.log(
    `${name.padEnd(50)} ${Math.round(1e9 / bestNs).toLocaleString('en-US').padStart(12)} ops/s ${bestNs.toFixed(0).padStart(7)} ns/op` +
      `   (wall: ${Math.round(bestWallOps).toLocaleString('en-US')} ops/s)`,
  );
}

console.log(`message: ${BUF.length} bytes, node ${process.version}`);
bench('parse + branch/Call-ID/CSeq/tags', () => keys(BUF));
bench('parse + top Via/CSeq/To tag (transaction match)', () => transactionView(BUF));
bench('parse + every header value and typed header', () => full(BUF));
bench('serialize unmodified (original bytes)', serializeUnmodified);
bench('parse + modify + serialize (canonical)', serializeModified);
if (sink === 42) console.log('');
