/**
 * A loopback SIP "network" for transaction and dialog tests (pjsip `sip_transport_loop.h` style): messages are
 * serialized, optionally lost, delayed or failed, parsed again with the real parser and delivered on a VirtualClock.
 *
 * Knobs (all changeable mid-test):
 * - `delayMs`: one-way delivery delay (virtual ms; 0 delivers on the next `clock.advance(0)`).
 * - `lossRate` + `rng`: random loss with a seeded generator (reproducible).
 * - `discard(record)`: drop selected messages (e.g. every ACK, the first 200).
 * - `fail(record)`: make the send fail; `failMode` 'reject' (a rejected promise) or 'throw' (synchronous).
 */
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/message';
import {
  TransactionLayer,
  type ClientTransaction,
  type ServerTransaction,
  type TransactionFailureReason,
  type TransactionLayerOptions,
  type TransactionUser,
  type TransportTarget,
} from '../../src/sip/transaction';
import { VirtualClock } from '../../src/util';

export interface LoopAddress extends TransportTarget {
  readonly transport: string;
  readonly address: string;
  readonly port: number;
}

export type SipMsg = SipRequest | SipResponse;

/** One send, as the wire saw it. */
export interface WireRecord {
  /** Virtual time of the send. */
  readonly at: number;
  readonly from: LoopAddress;
  readonly to: LoopAddress;
  /** The message as serialized (what the peer would parse). */
  readonly bytes: Buffer;
  /** First line, e.g. 'INVITE sip:bob@b.example SIP/2.0' or 'SIP/2.0 180 Ringing'. */
  readonly startLine: string;
  /** The message object handed to the transport. */
  readonly msg: SipMsg;
  /** Set when the message did not reach the peer. */
  fate: 'delivered' | 'pending' | 'lost' | 'discarded' | 'failed' | 'unroutable';
}

type Receiver = (msg: SipMsg, source: LoopAddress) => void;

/** mulberry32: small, fast, seedable PRNG for reproducible loss. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class LoopTransport {
  readonly log: WireRecord[] = [];
  delayMs = 0;
  lossRate = 0;
  rng: () => number = seededRng(1);
  discard: ((rec: WireRecord) => boolean) | undefined;
  fail: ((rec: WireRecord) => boolean) | undefined;
  failMode: 'reject' | 'throw' = 'reject';
  /** Messages the parser refused (should stay 0: it means a layer produced bad bytes). */
  parseErrors = 0;
  private readonly endpoints = new Map<string, Receiver>();

  constructor(readonly clock: VirtualClock) {}

  /** Register a receiver at `addr`. */
  attach(addr: LoopAddress, receive: Receiver): void {
    this.endpoints.set(keyOf(addr), receive);
  }

  /** A send function bound to the sender's address, to hand to a TransactionLayer. */
  sender(from: LoopAddress): (msg: SipMsg, target: LoopAddress) => void | Promise<void> {
    return (msg, target) => this.send(from, msg, target);
  }

  /** Inject raw bytes as if `from` had sent them to `to` (after the current delay). */
  inject(from: LoopAddress, to: LoopAddress, bytes: Buffer | string): void {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const parsed = parseMessage(buf, { datagram: true });
    if (!parsed.ok) throw parsed.error;
    this.send(from, parsed.msg, to);
  }

  /** Records sent from `from` (optionally filtered by a start-line prefix like 'INVITE' or 'SIP/2.0 200'). */
  sent(from: LoopAddress, prefix = ''): WireRecord[] {
    const k = keyOf(from);
    return this.log.filter((r) => keyOf(r.from) === k && r.startLine.startsWith(prefix));
  }

  /** Send times of records sent from `from` whose start line begins with `prefix`. */
  sendTimes(from: LoopAddress, prefix: string): number[] {
    return this.sent(from, prefix).map((r) => r.at);
  }

  private send(from: LoopAddress, msg: SipMsg, to: LoopAddress): void | Promise<void> {
    const bytes = Buffer.from(msg.serialize());
    const eol = bytes.indexOf('\r\n');
    const rec: WireRecord = {
      at: this.clock.now(),
      from,
      to,
      bytes,
      startLine: bytes.subarray(0, eol < 0 ? bytes.length : eol).toString('latin1'),
      msg,
      fate: 'pending',
    };
    this.log.push(rec);
    if (this.fail?.(rec)) {
      rec.fate = 'failed';
      const err = new Error(`loop: send to ${keyOf(to)} failed`);
      if (this.failMode === 'throw') throw err;
      return Promise.reject(err);
    }
    if (this.discard?.(rec)) {
      rec.fate = 'discarded';
      return;
    }
    if (this.lossRate > 0 && this.rng() < this.lossRate) {
      rec.fate = 'lost';
      return;
    }
    const receiver = this.endpoints.get(keyOf(to));
    if (receiver === undefined) {
      rec.fate = 'unroutable';
      return;
    }
    this.clock.setTimeout(() => {
      const parsed = parseMessage(bytes, { datagram: to.transport.toUpperCase() === 'UDP' });
      if (!parsed.ok) {
        this.parseErrors++;
        rec.fate = 'lost';
        return;
      }
      rec.fate = 'delivered';
      receiver(parsed.msg, from);
    }, this.delayMs);
  }
}

function keyOf(a: LoopAddress): string {
  return `${a.transport.toUpperCase()}:${a.address}:${a.port}`;
}

/** Everything a test's TU saw, in order. */
export type TuEvent =
  | { type: 'request'; tx: ServerTransaction<LoopAddress>; req: SipRequest; source: LoopAddress; at: number }
  | { type: 'ack'; req: SipRequest; source: LoopAddress; at: number }
  | { type: 'stray'; res: SipResponse; source: LoopAddress; at: number }
  | { type: 'failure'; tx: ServerTransaction<LoopAddress>; reason: TransactionFailureReason; error?: Error; at: number };

/**
 * A TU that records everything and, when `answer` is set, responds to each new request synchronously or after
 * `answerDelayMs` of virtual time.
 */
export class RecordingTu implements TransactionUser<LoopAddress> {
  readonly events: TuEvent[] = [];
  answer: ((tx: ServerTransaction<LoopAddress>, req: SipRequest) => void) | undefined;
  answerDelayMs = 0;

  constructor(private readonly clock: VirtualClock) {}

  onRequest(tx: ServerTransaction<LoopAddress>, req: SipRequest, source: LoopAddress): void {
    this.events.push({ type: 'request', tx, req, source, at: this.clock.now() });
    const answer = this.answer;
    if (answer === undefined) return;
    if (this.answerDelayMs <= 0) answer(tx, req);
    else this.clock.setTimeout(() => answer(tx, req), this.answerDelayMs);
  }
  onAck(req: SipRequest, source: LoopAddress): void {
    this.events.push({ type: 'ack', req, source, at: this.clock.now() });
  }
  onStrayResponse(res: SipResponse, source: LoopAddress): void {
    this.events.push({ type: 'stray', res, source, at: this.clock.now() });
  }
  onTransactionFailure(tx: ServerTransaction<LoopAddress>, reason: TransactionFailureReason, error?: Error): void {
    this.events.push({ type: 'failure', tx, reason, error, at: this.clock.now() });
  }

  requests(): Extract<TuEvent, { type: 'request' }>[] {
    return this.events.filter((e): e is Extract<TuEvent, { type: 'request' }> => e.type === 'request');
  }
  ofType<K extends TuEvent['type']>(type: K): Extract<TuEvent, { type: K }>[] {
    return this.events.filter((e): e is Extract<TuEvent, { type: K }> => e.type === type);
  }
}

/** What a client transaction's handlers saw, in order. */
export type ClientEvent =
  | { type: 'provisional'; res: SipResponse; at: number }
  | { type: 'final'; res: SipResponse; at: number }
  | { type: 'timeout'; at: number }
  | { type: 'transport-error'; error: Error; at: number }
  | { type: 'terminated'; at: number };

export class RecordingHandlers {
  readonly events: ClientEvent[] = [];
  tx: ClientTransaction<LoopAddress> | undefined;
  constructor(private readonly clock: VirtualClock) {}
  onProvisional = (res: SipResponse): void => {
    this.events.push({ type: 'provisional', res, at: this.clock.now() });
  };
  onFinal = (res: SipResponse): void => {
    this.events.push({ type: 'final', res, at: this.clock.now() });
  };
  onTimeout = (): void => {
    this.events.push({ type: 'timeout', at: this.clock.now() });
  };
  onTransportError = (_tx: ClientTransaction<LoopAddress>, error: Error): void => {
    this.events.push({ type: 'transport-error', error, at: this.clock.now() });
  };
  onTerminated = (): void => {
    this.events.push({ type: 'terminated', at: this.clock.now() });
  };
  types(): ClientEvent['type'][] {
    return this.events.map((e) => e.type);
  }
  finals(): SipResponse[] {
    return this.events.flatMap((e) => (e.type === 'final' ? [e.res] : []));
  }
}

export interface LoopPair {
  clock: VirtualClock;
  loop: LoopTransport;
  uacAddr: LoopAddress;
  uasAddr: LoopAddress;
  uac: TransactionLayer<LoopAddress>;
  uas: TransactionLayer<LoopAddress>;
  uacTu: RecordingTu;
  uasTu: RecordingTu;
  /** Close both layers (teardown). */
  close(): void;
}

/**
 * Two TransactionLayers (UAC at 10.0.0.1:5060, UAS at 10.0.0.2:5060) joined by one LoopTransport on one VirtualClock.
 */
export function createLoopPair(
  opts: { transport?: string; layer?: Partial<Omit<TransactionLayerOptions<LoopAddress>, 'clock' | 'send' | 'tu'>> } = {},
): LoopPair {
  const clock = new VirtualClock();
  const loop = new LoopTransport(clock);
  const transport = opts.transport ?? 'UDP';
  const uacAddr: LoopAddress = { transport, address: '10.0.0.1', port: 5060 };
  const uasAddr: LoopAddress = { transport, address: '10.0.0.2', port: 5060 };
  const uacTu = new RecordingTu(clock);
  const uasTu = new RecordingTu(clock);
  const uac = new TransactionLayer<LoopAddress>({ ...opts.layer, clock, send: loop.sender(uacAddr), tu: uacTu });
  const uas = new TransactionLayer<LoopAddress>({ ...opts.layer, clock, send: loop.sender(uasAddr), tu: uasTu });
  loop.attach(uacAddr, (msg, source) => uac.receive(msg, source));
  loop.attach(uasAddr, (msg, source) => uas.receive(msg, source));
  return {
    clock,
    loop,
    uacAddr,
    uasAddr,
    uac,
    uas,
    uacTu,
    uasTu,
    close: () => {
      uac.close();
      uas.close();
    },
  };
}
