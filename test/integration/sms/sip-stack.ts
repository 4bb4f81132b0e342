import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createResponse, parseMessage, type SipRequest } from '../../../src/sip/message';
import { SipTransportLayer } from '../../../src/sip/transport';
import { SipUserAgent } from '../../../src/sip/ua';
import { systemClock } from '../../../src/util';

/** The real SIP stack (UDP transport + UA core) on 127.0.0.1 with an ephemeral port. */
export interface SipStack {
  readonly ua: SipUserAgent;
  readonly port: number;
  close(): Promise<void>;
}

export async function startSipStack(): Promise<SipStack> {
  const holder: { ua?: SipUserAgent } = {};
  const transport = new SipTransportLayer({
    host: '127.0.0.1',
    udp: { port: 0 },
    tcp: false,
    closeGraceMs: 100,
    onMessage: (data, source) => holder.ua?.receive(data, source),
  });
  await transport.start();
  const port = transport.ports.udp!;
  const ua = new SipUserAgent({
    clock: systemClock,
    send: (target, data) => transport.send(target, data),
    publicHost: '127.0.0.1',
    ports: { UDP: port },
    // Short T1 keeps retransmission-driven waits small; Timer F = 64*T1.
    T1: 100,
  });
  holder.ua = ua;
  return {
    ua,
    port,
    close: async () => {
      await ua.close();
      await transport.close();
    },
  };
}

/** A received MESSAGE as the fake trunk saw it. */
export interface CapturedMessage {
  readonly raw: Buffer;
  readonly request: SipRequest;
  readonly body: Buffer;
  readonly from: RemoteInfo;
}

/**
 * A SIP peer on a Node UDP socket standing in for a trunk or SMS gateway: records every MESSAGE byte for byte and
 * answers with the status `answer` picks (default 200). Retransmissions of a request already answered (same
 * branch) are answered again but recorded once.
 */
export class FakeTrunk {
  readonly messages: CapturedMessage[] = [];
  answer: (req: SipRequest, index: number) => number = () => 200;
  private readonly sock: Socket = createSocket('udp4');
  private readonly answered = new Map<string, number>();
  private waiters: (() => void)[] = [];

  async start(): Promise<number> {
    this.sock.on('message', (raw, rinfo) => this.onMessage(raw, rinfo));
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    return this.port;
  }

  get port(): number {
    return this.sock.address().port;
  }

  private onMessage(raw: Buffer, rinfo: RemoteInfo): void {
    const parsed = parseMessage(raw, { datagram: true });
    if (!parsed.ok || !parsed.msg.isRequest) return;
    const req = parsed.msg as SipRequest;
    const branch = req.branch ?? '';
    let status = this.answered.get(branch);
    if (status === undefined) {
      status = this.answer(req, this.messages.length);
      this.answered.set(branch, status);
      this.messages.push({ raw: Buffer.from(raw), request: req, body: Buffer.from(req.body), from: rinfo });
    }
    const res = createResponse(req, status, undefined, { toTag: 'trunk' });
    this.sock.send(res.serialize(), rinfo.port, rinfo.address);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `n` distinct MESSAGEs arrived; rejects after `boundMs` (a hang guard, not a timing check). */
  async waitFor(n: number, boundMs = 20_000): Promise<void> {
    const deadline = Date.now() + boundMs;
    while (this.messages.length < n) {
      if (Date.now() > deadline) throw new Error(`fake trunk got ${this.messages.length} of ${n} MESSAGEs`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): Promise<void> {
    for (const w of this.waiters.splice(0)) w();
    return new Promise((r) => this.sock.close(() => r()));
  }
}

/** Poll `check` until it returns a value; rejects after `boundMs` (a hang guard). No timing is asserted. */
export async function eventually<T>(check: () => Promise<T | undefined>, boundMs = 20_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
