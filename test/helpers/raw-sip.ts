import { createSocket, type Socket } from 'node:dgram';
import { until } from './wait';

// A SIP caller written by hand on a raw UDP socket of 127.0.0.1, for the tests that must control every byte and every
// retransmission themselves (PRACK, CANCEL and ACK timing, refused refreshes): it keeps every datagram it receives,
// in order, and builds requests whose headers the test chooses.

/** Who the raw caller is in one dialog: `user` gives From, Contact and, unless set, tag and Call-ID. */
export interface RawCaller {
  user: string;
  /** From tag; default `<user>1`. */
  tag?: string;
  /** Default `<user>@127.0.0.1`. */
  callId?: string;
  /** Called user (Request-URI and To); default 1000. */
  to?: string;
}

export interface RawRequestOptions {
  /** Via branch suffix: the branch is `z9hG4bK-<user>-<branch>` (RFC 3261 §8.1.1.7 magic cookie). */
  branch: string;
  /** The To tag of the dialog (from the response that established it). */
  toTag?: string;
  /** Extra header lines, placed after Contact. */
  extra?: string[];
  /** An SDP body (sent with Content-Type: application/sdp). */
  body?: string;
}

/** The value of header `name` (full form, case-insensitive) in a received message. */
export function header(msg: string, name: string): string | undefined {
  return new RegExp(`\r\n${name}: *([^\r\n]*)`, 'i').exec(msg)?.[1];
}

/** The tag of the To header of a received response. */
export function toTagOf(msg: string): string {
  const tag = /\r\nTo: [^\r\n]*;tag=([^\s;>\r\n]+)/i.exec(msg)?.[1];
  if (tag === undefined) throw new Error(`no To tag in ${msg.split('\r\n')[0]}`);
  return tag;
}

/** Whether `msg` is a response with this status to a request with this CSeq method (and number, when given). */
export function isResponse(msg: string, status: number, method: string, cseq?: number): boolean {
  return msg.startsWith(`SIP/2.0 ${status} `) && new RegExp(`\r\nCSeq: ${cseq ?? '\\d+'} ${method}\r\n`).test(msg);
}

export class RawSipSocket {
  /** Every datagram received, as latin1 text, in arrival order. */
  readonly inbox: string[] = [];

  private constructor(private readonly sock: Socket) {
    sock.on('message', (m) => this.inbox.push(m.toString('latin1')));
  }

  static async open(): Promise<RawSipSocket> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new RawSipSocket(sock);
  }

  /** host:port of this socket (Via, From and Contact). */
  get address(): string {
    return `127.0.0.1:${this.sock.address().port}`;
  }

  /** Sends `text` to `target` (host:port) as one datagram. */
  send(text: string, target: string): void {
    const [host, port] = target.split(':');
    this.sock.send(Buffer.from(text), Number(port), host);
  }

  /** The first received message `pred` accepts, waiting for it (bounded by `attempts` x 100 ms). */
  find(pred: (m: string) => boolean, what: string, attempts?: number): Promise<string> {
    return until(() => this.inbox.find(pred), what, attempts);
  }

  /**
   * A request of `caller` to `sip:<to>@<target>`: Via, Max-Forwards, From, To, Call-ID, CSeq, Contact (not on CANCEL,
   * which takes none: RFC 3261 §20 table 3), the extra lines, then the body with its Content-Length.
   */
  request(target: string, caller: RawCaller, method: string, cseq: number, opts: RawRequestOptions): string {
    const me = this.address;
    const to = caller.to ?? '1000';
    const body = opts.body ?? '';
    return [
      `${method} sip:${to}@${target} SIP/2.0`,
      `Via: SIP/2.0/UDP ${me};branch=z9hG4bK-${caller.user}-${opts.branch}`,
      'Max-Forwards: 70',
      `From: <sip:${caller.user}@${me}>;tag=${caller.tag ?? `${caller.user}1`}`,
      `To: <sip:${to}@${target}>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
      `Call-ID: ${caller.callId ?? `${caller.user}@127.0.0.1`}`,
      `CSeq: ${cseq} ${method}`,
      ...(method === 'CANCEL' ? [] : [`Contact: <sip:${caller.user}@${me}>`]),
      ...(opts.extra ?? []),
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  close(): Promise<void> {
    return new Promise<void>((r) => this.sock.close(() => r()));
  }
}

/** An SDP offer of PCMU from 127.0.0.1:40000 (nobody listens there: the tests look at signalling and CDRs). */
export const PCMU_OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
