import { createSocket, type Socket } from 'node:dgram';
import { decodeRtp, RtpPacket } from '../../../src/rtp';

/**
 * A minimal SIP UAC with an RTP socket, over node:dgram, for end-to-end tests of call routes: INVITE (PCMA +
 * telephone-event) / ACK / BYE, answers in-dialog requests from the server (BYE, re-INVITE, OPTIONS...), and records
 * every RTP packet it receives with its arrival time.
 */

export interface ReceivedRtp {
  /** performance.now() at arrival. */
  at: number;
  seq: number;
  timestamp: number;
  payloadType: number;
  marker: boolean;
  payload: Buffer;
}

export interface PeerCall {
  callId: string;
  /** The To header of the 200 (with the server's tag). */
  to: string;
  remoteRtpPort: number;
  remoteRtpAddress: string;
}

function bind(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function header(msg: string, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(msg);
  return m ? m[1].trim() : '';
}

export class SipRtpPeer {
  readonly received: ReceivedRtp[] = [];
  /** In-dialog requests the server sent us (method names, in order). */
  readonly requests: string[] = [];
  private cseq = 1;
  private branchSeq = 0;
  private byeWaiters: (() => void)[] = [];
  private byeSeen = false;
  private call: PeerCall | undefined;

  private constructor(
    readonly sip: Socket,
    readonly rtp: Socket,
    private readonly serverPort: number,
    private readonly user: string,
    /** Allow header of our INVITE (RFC 3261 §20.5); undefined = none. */
    private readonly allow: string | undefined,
  ) {
    const pkt = new RtpPacket();
    rtp.on('message', (m: Buffer) => {
      if (decodeRtp(m, pkt) !== null) return;
      this.received.push({ at: performance.now(), seq: pkt.sequenceNumber, timestamp: pkt.timestamp, payloadType: pkt.payloadType, marker: pkt.marker, payload: Buffer.from(pkt.payload) });
    });
    sip.on('message', (m: Buffer) => this.onSip(m.toString('latin1')));
  }

  static async create(serverPort: number, opts: { user?: string; allow?: string } = {}): Promise<SipRtpPeer> {
    const [sip, rtp] = await Promise.all([bind(), bind()]);
    return new SipRtpPeer(sip, rtp, serverPort, opts.user ?? 'caller', opts.allow);
  }

  get sipPort(): number {
    return this.sip.address().port;
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  get byeReceived(): boolean {
    return this.byeSeen;
  }

  /** Resolves when the server sends BYE (rejects after `timeoutMs`). */
  waitForBye(timeoutMs = 10_000): Promise<void> {
    if (this.byeSeen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no BYE from the server')), timeoutMs);
      this.byeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private sdp(): string {
    return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${this.rtpPort} RTP/AVP 8 101`, 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
  }

  private fromHeader(): string {
    return `<sip:${this.user}@127.0.0.1:${this.sipPort}>;tag=p${this.sipPort}`;
  }

  private send(text: string): void {
    this.sip.send(Buffer.from(text.replace(/\r?\n/g, '\r\n')), this.serverPort, '127.0.0.1');
  }

  /** Send a request and resolve with its first final response. */
  private transact(text: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const callId = header(text, 'Call-ID');
      const cseq = header(text, 'CSeq');
      const timer = setTimeout(() => {
        this.sip.off('message', onMsg);
        reject(new Error(`no final response to ${cseq}`));
      }, timeoutMs);
      const onMsg = (m: Buffer): void => {
        const s = m.toString('latin1');
        const code = Number(/^SIP\/2\.0 (\d{3})/.exec(s)?.[1] ?? 0);
        if (code >= 200 && header(s, 'Call-ID') === callId && header(s, 'CSeq') === cseq) {
          clearTimeout(timer);
          this.sip.off('message', onMsg);
          resolve(s);
        }
      };
      this.sip.on('message', onMsg);
      this.send(text);
    });
  }

  private common(method: string, seq: number, to: string, callId: string): string {
    return [
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=z9hG4bK${method.toLowerCase()}${++this.branchSeq}x${this.sipPort}`,
      'Max-Forwards: 70',
      `From: ${this.fromHeader()}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${seq} ${method}`,
      `Contact: <sip:${this.user}@127.0.0.1:${this.sipPort}>`,
    ].join('\r\n');
  }

  /** INVITE `number`, wait for 200, ACK. Throws when the call is refused. */
  async invite(number: string): Promise<PeerCall> {
    const uri = `sip:${number}@127.0.0.1:${this.serverPort}`;
    const callId = `peer-${this.sipPort}-${Date.now()}@127.0.0.1`;
    const body = this.sdp();
    const allow = this.allow !== undefined ? `\r\nAllow: ${this.allow}` : '';
    const seq = this.cseq++;
    const res = await this.transact(
      `INVITE ${uri} SIP/2.0\r\n${this.common('INVITE', seq, `<${uri}>`, callId)}${allow}\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      15_000,
    );
    if (!/^SIP\/2\.0 200 /.test(res)) throw new Error(`INVITE refused: ${res.split('\r\n')[0]}`);
    const to = header(res, 'To');
    const sdp = res.slice(res.indexOf('\r\n\r\n') + 4);
    const remoteRtpPort = Number(/^m=audio (\d+) /m.exec(sdp)?.[1]);
    const remoteRtpAddress = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1] ?? '127.0.0.1';
    this.send(`ACK ${uri} SIP/2.0\r\n${this.common('ACK', seq, to, callId)}\r\nContent-Length: 0\r\n\r\n`);
    this.call = { callId, to, remoteRtpPort, remoteRtpAddress };
    return this.call;
  }

  /** Hang up our call; resolves with the BYE's final status. */
  async bye(): Promise<number> {
    const c = this.call;
    if (!c) throw new Error('no call');
    const uri = `sip:callee@127.0.0.1:${this.serverPort}`;
    const res = await this.transact(`BYE ${uri} SIP/2.0\r\n${this.common('BYE', this.cseq++, c.to, c.callId)}\r\nContent-Length: 0\r\n\r\n`);
    return Number(/^SIP\/2\.0 (\d{3})/.exec(res)?.[1] ?? 0);
  }

  /** A key press as SIP INFO (application/dtmf-relay); resolves with the final status. */
  async info(digit: string): Promise<number> {
    const c = this.call;
    if (!c) throw new Error('no call');
    const uri = `sip:callee@127.0.0.1:${this.serverPort}`;
    const body = `Signal=${digit}\r\nDuration=160\r\n`;
    const res = await this.transact(
      `INFO ${uri} SIP/2.0\r\n${this.common('INFO', this.cseq++, c.to, c.callId)}\r\nContent-Type: application/dtmf-relay\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return Number(/^SIP\/2\.0 (\d{3})/.exec(res)?.[1] ?? 0);
  }

  /** An SMS as SIP MESSAGE (RFC 3428) outside any dialog; resolves with the final status. */
  async message(to: string, text: string): Promise<number> {
    const uri = `sip:${to}@127.0.0.1:${this.serverPort}`;
    const callId = `msg-${this.sipPort}-${++this.branchSeq}@127.0.0.1`;
    const res = await this.transact(
      `MESSAGE ${uri} SIP/2.0\r\n${this.common('MESSAGE', 1, `<${uri}>`, callId)}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
    return Number(/^SIP\/2\.0 (\d{3})/.exec(res)?.[1] ?? 0);
  }

  /** Send raw RTP datagrams to the server's media port. */
  sendRtp(datagram: Buffer): void {
    const c = this.call;
    if (c) this.rtp.send(datagram, c.remoteRtpPort, c.remoteRtpAddress);
  }

  close(): void {
    this.sip.close();
    this.rtp.close();
  }

  /** Requests from the server: answer them as a well-behaved UA would. */
  private onSip(msg: string): void {
    if (msg.startsWith('SIP/2.0')) return;
    const method = /^([A-Z]+) /.exec(msg)?.[1];
    if (!method) return;
    if (method === 'ACK') return;
    this.requests.push(method);
    const copy = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((h) => `${h}: ${header(msg, h)}`);
    if (method === 'INVITE') {
      // A re-INVITE (hold/resume, transfer re-targeting): accept with our SDP.
      const body = this.sdp();
      this.send(`SIP/2.0 200 OK\r\n${copy.join('\r\n')}\r\nContact: <sip:${this.user}@127.0.0.1:${this.sipPort}>\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    const status = method === 'REFER' ? '501 Not Implemented' : '200 OK';
    this.send(`SIP/2.0 ${status}\r\n${copy.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
    if (method === 'BYE' && !this.byeSeen) {
      this.byeSeen = true;
      for (const w of this.byeWaiters.splice(0)) w();
    }
  }
}
