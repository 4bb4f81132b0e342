import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { PCMU, ToneGenerator, dtmfSequence, encodeWav, type ToneSequence } from '../../../src/dsp';
import { decodeRtp, encodeRtp, RtpPacket } from '../../../src/rtp';

// A minimal SIP peer written with node:dgram for the IVR, queue, recording and AMD tests: a UAC that calls the
// server (INVITE with SDP, ACK, BYE, answers the server's BYE) or a UAS that answers the server's INVITE, with an
// RTP socket that sends PCMU frames paced at 20 ms (speech, tones, in-band DTMF) and keeps what it receives.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function bind(): Promise<Socket> {
  return new Promise((res) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => res(s));
  });
}

function header(msg: string, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(msg);
  return m ? m[1].trim() : '';
}

function statusOf(msg: string): number {
  return Number(/^SIP\/2\.0 (\d{3})/.exec(msg)?.[1] ?? 0);
}

function sdpPort(msg: string): number {
  return Number(/^m=audio (\d+)/m.exec(msg)?.[1] ?? 0);
}

/** A WAV file of 8 kHz PCM16 mono samples. */
export function wavOf(samples: Int16Array): Buffer {
  return encodeWav(samples, { sampleRate: 8000, channels: 1, encoding: 'pcm16' });
}

/** `ms` of a tone sequence as PCM16 8 kHz. */
export function toneSamples(seq: ToneSequence, ms: number): Int16Array {
  const out = new Int16Array(Math.round(ms * 8));
  new ToneGenerator(seq).fill(out);
  return out;
}

/** Power of `hz` in `samples` relative to the mean power (Goertzel; 1 for a pure tone at hz). */
export function toneShare(samples: Int16Array, hz: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += samples[i] * samples[i];
  }
  if (energy === 0) return 0;
  const mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * mag2) / (samples.length * energy);
}

/** One channel (0 left, 1 right) of interleaved stereo samples. */
export function channel(samples: Int16Array, ch: number): Int16Array {
  const out = new Int16Array(samples.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = samples[i * 2 + ch];
  return out;
}

/** Expects a stereo recording to hold `leftHz` only on the left and `rightHz` only on the right. */
export function expectTonesBySide(stereo: Int16Array, leftHz: number, rightHz: number): void {
  const left = channel(stereo, 0);
  const right = channel(stereo, 1);
  expect(toneShare(left, leftHz)).toBeGreaterThan(0.5);
  expect(toneShare(left, rightHz)).toBeLessThan(0.1);
  expect(toneShare(right, rightHz)).toBeGreaterThan(0.5);
  expect(toneShare(right, leftHz)).toBeLessThan(0.1);
}

export function rms(samples: Int16Array): number {
  let e = 0;
  for (let i = 0; i < samples.length; i++) e += samples[i] * samples[i];
  return samples.length === 0 ? 0 : Math.sqrt(e / samples.length);
}

export interface PeerOptions {
  /** User part of our From (the caller's number). */
  user: string;
  /** Offer RFC 4733 telephone-event (default true); without it the server listens for in-band tones. */
  telephoneEvent?: boolean;
}

/** One SIP dialog over its own UDP sockets (SIP + RTP). */
export class SipPeer {
  callId = `${randomBytes(6).toString('hex')}@127.0.0.1`;
  private readonly tag = randomBytes(4).toString('hex');
  private remoteRtp: { port: number } | undefined;
  private remoteTarget: { port: number } | undefined;
  private toHeader = '';
  private fromHeader = '';
  private cseq = 1;
  private seq = Math.floor(Math.random() * 60000);
  private ts = 0;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);
  private readonly received: Int16Array[] = [];
  private sending: Promise<void> = Promise.resolve();
  private stopSending = false;
  /** RTP packets received. */
  packetsReceived = 0;
  /** The server sent BYE (answered with 200). */
  byeReceived = false;
  private byeWaiters: (() => void)[] = [];
  private inviteWaiters: ((msg: string, rinfo: RemoteInfo) => void)[] = [];

  private constructor(
    private readonly sip: Socket,
    private readonly rtp: Socket,
    private readonly opts: PeerOptions,
  ) {
    sip.on('message', (m, rinfo) => this.onSip(m.toString('latin1'), rinfo));
    rtp.on('message', (m) => this.onRtp(m));
  }

  static async open(opts: PeerOptions): Promise<SipPeer> {
    return new SipPeer(await bind(), await bind(), opts);
  }

  get sipPort(): number {
    return this.sip.address().port;
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  /** Everything received so far, decoded, in arrival order. */
  receivedPcm(): Int16Array {
    const n = this.received.reduce((a, b) => a + b.length, 0);
    const out = new Int16Array(n);
    let o = 0;
    for (const r of this.received) {
      out.set(r, o);
      o += r.length;
    }
    return out;
  }

  clearReceived(): void {
    this.received.length = 0;
  }

  private sdp(): string {
    const te = this.opts.telephoneEvent !== false;
    const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${this.rtpPort} RTP/AVP 0${te ? ' 101' : ''}`, 'a=rtpmap:0 PCMU/8000'];
    if (te) lines.push('a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15');
    lines.push('a=sendrecv', '');
    return lines.join('\r\n');
  }

  /** Call `number` at the server; resolves once answered (200 OK, ACK sent). Rejects on a failure status. */
  async call(serverPort: number, number: string): Promise<void> {
    this.remoteTarget = { port: serverPort };
    this.fromHeader = `<sip:${this.opts.user}@127.0.0.1:${this.sipPort}>;tag=${this.tag}`;
    const body = this.sdp();
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const invite = [
      `INVITE sip:${number}@127.0.0.1:${serverPort} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=${branch};rport`,
      `From: ${this.fromHeader}`,
      `To: <sip:${number}@127.0.0.1:${serverPort}>`,
      `Call-ID: ${this.callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:${this.opts.user}@127.0.0.1:${this.sipPort}>`,
      'Max-Forwards: 70',
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    const final = await this.request(invite, 'INVITE', 20_000);
    const status = statusOf(final);
    if (status !== 200) throw new Error(`call to ${number} failed: ${status}`);
    this.toHeader = header(final, 'To');
    this.remoteRtp = { port: sdpPort(final) };
    this.sendRaw(this.inDialog('ACK', 1));
  }

  /** Wait for an INVITE from the server and answer it (200 OK with our SDP). */
  async answer(timeoutMs = 20_000): Promise<void> {
    const [msg, rinfo] = await new Promise<[string, RemoteInfo]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no INVITE')), timeoutMs);
      this.inviteWaiters.push((m, r) => {
        clearTimeout(timer);
        resolve([m, r]);
      });
    });
    this.remoteTarget = { port: rinfo.port };
    this.remoteRtp = { port: sdpPort(msg) };
    this.fromHeader = header(msg, 'To').includes('tag=') ? header(msg, 'To') : `${header(msg, 'To')};tag=${this.tag}`;
    this.toHeader = header(msg, 'From');
    const body = this.sdp();
    const response = [
      'SIP/2.0 200 OK',
      `Via: ${header(msg, 'Via')}`,
      `From: ${header(msg, 'From')}`,
      `To: ${this.fromHeader}`,
      `Call-ID: ${header(msg, 'Call-ID')}`,
      `CSeq: ${header(msg, 'CSeq')}`,
      `Contact: <sip:uas@127.0.0.1:${this.sipPort}>`,
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    this.callId = header(msg, 'Call-ID');
    this.sendRaw(response);
  }


  private inDialog(method: string, cseq: number): string {
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const port = this.remoteTarget?.port ?? 0;
    return [
      `${method} sip:server@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=${branch};rport`,
      `From: ${this.fromHeader}`,
      `To: ${this.toHeader}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  /** Hang up (BYE); resolves on its final response. */
  async hangup(): Promise<number> {
    this.stopSending = true;
    if (this.byeReceived) return 0;
    const final = await this.request(this.inDialog('BYE', ++this.cseq), 'BYE', 8000).catch(() => '');
    return statusOf(final);
  }

  /** Resolves when the server hangs up (its BYE), or rejects after `timeoutMs`. */
  waitBye(timeoutMs = 30_000): Promise<void> {
    if (this.byeReceived) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no BYE from the server')), timeoutMs);
      this.byeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Send PCM16 audio as PCMU RTP, 20 ms per packet at real time (queued behind earlier sends). */
  sendPcm(pcm: Int16Array): Promise<void> {
    const run = async (): Promise<void> => {
      const start = Date.now();
      for (let off = 0, n = 0; off < pcm.length && !this.stopSending; off += 160, n++) {
        const frame = pcm.subarray(off, Math.min(off + 160, pcm.length));
        const payload = new Uint8Array(160).fill(0xff);
        PCMU.encodeInto(frame, payload);
        this.sendRtp(0, payload, n === 0);
        this.ts = (this.ts + 160) >>> 0;
        const due = start + (n + 1) * 20;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
    };
    this.sending = this.sending.then(run, run);
    return this.sending;
  }

  /**
   * In-band DTMF tones (ITU-T Q.23) of `digits`, then silence. Presses of 250 ms (a typical human press) survive a
   * frame or two lost when this shared machine stalls the in-process sender.
   */
  sendInbandDtmf(digits: string): Promise<void> {
    const seq = dtmfSequence(digits, { durationMs: 250, pauseMs: 150 });
    const ms = seq.segments.reduce((a, s) => a + s.durationMs, 0) + 200;
    return this.sendPcm(toneSamples(seq, ms));
  }

  /** Silence (keeps RTP flowing so the server does not time the call out). */
  sendSilence(ms: number): Promise<void> {
    return this.sendPcm(new Int16Array(Math.round(ms * 8)));
  }

  private sendRtp(pt: number, payload: Uint8Array, marker: boolean): void {
    if (!this.remoteRtp) return;
    this.seq = (this.seq + 1) & 0xffff;
    const pkt = encodeRtp({ marker, payloadType: pt, sequenceNumber: this.seq, timestamp: this.ts, ssrc: this.ssrc }, payload);
    this.rtp.send(pkt, this.remoteRtp.port, '127.0.0.1');
  }

  private onRtp(m: Buffer): void {
    const p = new RtpPacket();
    if (decodeRtp(m, p) !== null) return;
    this.packetsReceived++;
    if (p.payloadType !== 0) return;
    const pcm = new Int16Array(p.payload.length);
    PCMU.decodeInto(p.payload, pcm);
    this.received.push(pcm);
  }

  private pendingRequest: { method: string; resolve: (msg: string) => void } | undefined;

  private request(text: string, method: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let tries = 0;
      const send = (): void => {
        if (tries++ < 6) this.sendRaw(text);
      };
      const retrans = setInterval(send, 500);
      const timer = setTimeout(() => {
        clearInterval(retrans);
        this.pendingRequest = undefined;
        reject(new Error(`no final response to ${method}`));
      }, timeoutMs);
      this.pendingRequest = {
        method,
        resolve: (msg) => {
          clearInterval(retrans);
          clearTimeout(timer);
          this.pendingRequest = undefined;
          resolve(msg);
        },
      };
      send();
      // Provisional responses stop retransmission of an INVITE (RFC 3261 §17.1.1.2).
      if (method === 'INVITE') this.onProvisional = () => clearInterval(retrans);
    });
  }

  private onProvisional: (() => void) | undefined;

  private sendRaw(text: string): void {
    const port = this.remoteTarget?.port;
    if (port) this.sip.send(Buffer.from(text, 'latin1'), port, '127.0.0.1');
  }

  private onSip(msg: string, rinfo: RemoteInfo): void {
    if (msg.startsWith('SIP/2.0')) {
      const status = statusOf(msg);
      const method = header(msg, 'CSeq').split(/\s+/)[1] ?? '';
      if (status < 200) {
        if (method === 'INVITE') this.onProvisional?.();
        return;
      }
      if (method === 'INVITE' && status === 200 && this.toHeader !== '' && this.pendingRequest?.method !== 'INVITE') {
        // A retransmitted 2xx: ACK it again (RFC 3261 §13.2.2.4).
        this.sendRaw(this.inDialog('ACK', 1));
        return;
      }
      if (this.pendingRequest && this.pendingRequest.method === method) this.pendingRequest.resolve(msg);
      return;
    }
    const method = msg.split(' ')[0];
    const reply = (code: number, reason: string): void => {
      const r = [`SIP/2.0 ${code} ${reason}`, `Via: ${header(msg, 'Via')}`, `From: ${header(msg, 'From')}`, `To: ${header(msg, 'To')}`, `Call-ID: ${header(msg, 'Call-ID')}`, `CSeq: ${header(msg, 'CSeq')}`, 'Content-Length: 0', '', ''].join('\r\n');
      this.sip.send(Buffer.from(r, 'latin1'), rinfo.port, rinfo.address);
    };
    if (method === 'INVITE') {
      if (this.inviteWaiters.length > 0) {
        this.inviteWaiters.shift()?.(msg, rinfo);
        return;
      }
      // A re-INVITE: keep the media as it is.
      const body = this.sdp();
      const r = [`SIP/2.0 200 OK`, `Via: ${header(msg, 'Via')}`, `From: ${header(msg, 'From')}`, `To: ${header(msg, 'To')}`, `Call-ID: ${header(msg, 'Call-ID')}`, `CSeq: ${header(msg, 'CSeq')}`, `Contact: <sip:peer@127.0.0.1:${this.sipPort}>`, 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
      this.sip.send(Buffer.from(r, 'latin1'), rinfo.port, rinfo.address);
      return;
    }
    if (method === 'BYE') {
      reply(200, 'OK');
      this.byeReceived = true;
      this.stopSending = true;
      for (const w of this.byeWaiters.splice(0)) w();
      return;
    }
    if (method === 'ACK') return;
    if (method === 'OPTIONS' || method === 'INFO' || method === 'NOTIFY' || method === 'UPDATE') reply(200, 'OK');
    else reply(501, 'Not Implemented');
  }

  /** Close both sockets. */
  async close(): Promise<void> {
    this.stopSending = true;
    await this.sending.catch(() => undefined);
    this.sip.close();
    this.rtp.close();
  }
}
