/**
 * SIP transport hot paths: `node --require ./bench/register.js bench/transport.ts`.
 *
 *   1. StreamFramer: a stream of ~900-byte requests cut into 64 KiB reads (the zero-copy path) and into
 *      1400-byte segments (messages straddling reads: the assembling path).
 *   2. UDP receive through SipTransportLayer over loopback: datagrams/s delivered to onMessage while one
 *      socket sends as fast as it can (sender and receiver share this process and core, so the figure is a floor).
 * Figures are printed, not asserted: the machine is shared.
 */
import { createSocket } from 'node:dgram';
import { SipTransportLayer, StreamFramer, type StreamFramerSink } from '../src/sip/transport';

const BODY = 'v=0\r\no=- 1 1 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\nm=audio 40376 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n';
function request(i: number): string {
  return (
    'INVITE sip:+14155550123@voice.example.com SIP/2.0\r\n' +
    `Via: SIP/2.0/TCP 203.0.113.7:5060;branch=z9hG4bK-${i};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: "Caller" <sip:+14155550100@203.0.113.7>;tag=as6f2c\r\n' +
    'To: <sip:+14155550123@voice.example.com>\r\n' +
    `Call-ID: ${i}-3c1d3e2f6b7a8c9d@203.0.113.7\r\n` +
    'CSeq: 102 INVITE\r\n' +
    'Contact: <sip:+14155550100@203.0.113.7:5060;transport=tcp>\r\n' +
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, UPDATE\r\n' +
    'Supported: replaces, timer\r\n' +
    'Content-Type: application/sdp\r\n' +
    `Content-Length: ${BODY.length}\r\n\r\n` +
    BODY
  );
}

class Count implements StreamFramerSink {
  n = 0;
  bytes = 0;
  onFrame(m: Buffer): void {
    this.n++;
    this.bytes += m.length;
  }
  onKeepAlive(): void {
    // not measured
  }
}

function benchFramer(label: string, segment: number): void {
  const stream = Buffer.from(Array.from({ length: 2000 }, (_, i) => request(i)).join(''), 'latin1');
  const chunks: Buffer[] = [];
  for (let o = 0; o < stream.length; o += segment) chunks.push(stream.subarray(o, o + segment));
  const sink = new Count();
  const rounds = 50;
  // Warm up.
  for (let r = 0; r < 5; r++) {
    const f = new StreamFramer(sink);
    for (const c of chunks) f.push(c);
  }
  sink.n = 0;
  sink.bytes = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const f = new StreamFramer(sink);
    for (const c of chunks) f.push(c);
  }
  const ms = performance.now() - t0;
  const perSec = (sink.n / ms) * 1000;
  console.log(`framer ${label}: ${Math.round(perSec).toLocaleString()} msg/s, ${((sink.bytes / ms) * 1000 / 1e6).toFixed(0)} MB/s (${sink.n} msgs of ${stream.length / 2000} B)`);
}

async function benchUdp(durationMs: number): Promise<void> {
  let received = 0;
  const layer = new SipTransportLayer({ host: '127.0.0.1', udp: { port: 0 }, tcp: false, onMessage: () => void received++ });
  await layer.start();
  const sender = createSocket('udp4');
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', r));
  const datagram = Buffer.from(request(1), 'latin1');
  const port = layer.ports.udp!;
  let sent = 0;
  let running = true;
  const inflightMax = 64;
  let inflight = 0;
  await new Promise<void>((done) => {
    const pump = (): void => {
      while (running && inflight < inflightMax) {
        inflight++;
        sent++;
        sender.send(datagram, port, '127.0.0.1', onSent);
      }
    };
    let scheduled = false;
    const resume = (): void => {
      scheduled = false;
      pump();
    };
    const onSent = (): void => {
      inflight--;
      // Send callbacks of loopback datagrams arrive on process.nextTick: pumping from them directly would
      // starve the event loop (and the receiver). Yield to it once per batch.
      if (running) {
        if (!scheduled) {
          scheduled = true;
          setImmediate(resume);
        }
      } else if (inflight === 0) done();
    };
    const t0 = performance.now();
    setTimeout(() => {
      running = false;
      const ms = performance.now() - t0;
      console.log(
        `udp receive: ${Math.round((received / ms) * 1000).toLocaleString()} datagrams/s delivered ` +
          `(${sent.toLocaleString()} sent, ${received.toLocaleString()} received, ${datagram.length} B each, kernel rcvbuf ${layer.udpBufferSizes?.recv})`,
      );
      if (inflight === 0) done();
    }, durationMs);
    pump();
  });
  await new Promise<void>((r) => sender.close(() => r()));
  await layer.close();
}

async function main(): Promise<void> {
  benchFramer('64 KiB reads (zero copy)', 65536);
  benchFramer('1400 B segments (assembling)', 1400);
  await benchUdp(2000);
}

void main();
