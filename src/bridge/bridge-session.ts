import WebSocket from 'ws';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Clock, InvalidStateError, pooledRandomBytes, systemClock, TimerHandle, TypedEmitter } from '../util';
import type { BridgeCallPort, BridgeDtmfEvent, BridgeMarkEvent, Unsubscribe } from './bridge-call-port';
import type { AiCommand, AiMessageError } from './ai-command';
import { BridgeConnectOutcome, BridgeLogger, BridgeSessionMetrics, silentBridgeLogger } from './bridge-metrics';
import { DownlinkConverter } from './downlink-converter';
import { FrameRing } from './frame-ring';
import { JambonzCodec } from './jambonz-codec';
import { NativeCodec } from './native-codec';
import type { AiProtocolName, BridgeSmsNotice, ProtocolCodec, WireMessage } from './protocol-codec';
import { TwilioCodec, TwilioCodecOptions } from './twilio-codec';

/** Lifecycle of a session: `connecting` -> `open` <-> `reconnecting`; `ended` is final. */
export type BridgeSessionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'ended';

export interface BridgeSessionOptions {
  /** ws:// or wss:// URL of the AI platform. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra handshake headers (tenant ids, API keys). */
  headers?: Readonly<Record<string, string>>;
  protocol: AiProtocolName;
  /** Wire sample rate: 8000, or 16000/24000 for wideband numbers (native, jambonz). Twilio is always 8000. */
  sampleRate?: number;
  /** Give up a connection attempt after this long (AI_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** After a mid-call drop, keep reconnecting for this long (AI_RECONNECT_S * 1000); 0 = never reconnect. */
  reconnectWindowMs: number;
  /** Backoff between reconnection attempts: doubles from `initialMs` up to `maxMs` (default 200..2000 ms). */
  reconnectBackoff?: { initialMs: number; maxMs: number };
  /** Caller frames held while the socket is not writable (default 250 = 5 s); beyond it the oldest are dropped. */
  pendingFrames?: number;
  /** ws.bufferedAmount above which frames wait in the pending buffer instead of the socket (default 64 KiB). */
  maxBufferedBytes?: number;
  /** Largest message accepted from the AI (default 8 MiB: a jambonz playAudio WAV fits). */
  maxMessageBytes?: number;
  /** Ping the AI this often and drop a connection that missed a pong (default 15000 ms; 0 = off). */
  pingIntervalMs?: number;
  /** TLS: verify the AI's certificate (default true) and extra CAs (private PKI). */
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer };
  twilio?: TwilioCodecOptions;
  clock?: Clock;
  metrics?: BridgeSessionMetrics;
  logger?: BridgeLogger;
}

/** What start() reports: connected, or the AI could not be reached (the call layer runs its fallback). */
export type BridgeStartResult = { ok: true } | { ok: false; reason: 'ai-unavailable' | 'cancelled'; detail: string };

export type BridgeSessionEvents = {
  /** The socket is open and the opening messages were sent (`resumed` after a reconnection). */
  open: [{ resumed: boolean }];
  /** The AI cannot be reached: at start (fallback) or after the reconnection window ran out mid-call. */
  unavailable: [{ phase: 'connect' | 'reconnect'; detail: string }];
  /** A mid-call drop; reconnection attempt `attempt` is scheduled. */
  reconnecting: [{ attempt: number; code: number }];
  /** An AI message was refused (logged and, in native mode, answered with an `error` message). */
  aierror: [AiMessageError];
  /** The session ended; no further events. */
  close: [{ reason: string }];
};

/** Counters of one session (cheap to read, for logs and tests). */
export interface BridgeSessionStats {
  framesSent: number;
  framesDropped: number;
  aiMessages: number;
  aiErrors: number;
  aiAudioFramesDropped: number;
  controlDropped: number;
  reconnects: number;
}

interface PendingControl {
  msg: WireMessage;
  /** Sent before the first pending frame whose seq is >= this (keeps DTMF in order with the audio around it). */
  beforeSeq: number;
}

const DEFAULT_PENDING_FRAMES = 250;
const DEFAULT_MAX_BUFFERED = 64 * 1024;
const DEFAULT_MAX_MESSAGE = 8 * 1024 * 1024;
const DEFAULT_PING_MS = 15_000;
const MAX_PENDING_CONTROL = 256;
const CLOSE_GRACE_MS = 2000;
/** RFC 6455 §7.4.1: 1000 = normal closure. The AI closing normally means it is done with the call. */
const CLOSE_NORMAL = 1000;
const FRAME_SAMPLES = 160;
/**
 * ws.send options, allocated once: audio goes out 50 times a second per call. No compression (permessage-deflate is
 * not negotiated either) and no per-send callback.
 */
const TEXT_FRAME = { binary: false, compress: false } as const;
const BINARY_FRAME = { binary: true, compress: false } as const;

/**
 * ws's masking-key source: a fresh, unpredictable key per frame (RFC 6455 §5.3) from the pooled CSPRNG draw, but never
 * the all-zero key: with it ws would skip masking and hand the caller's buffer to
 * the socket as it is, and audio messages are assembled in buffers reused for the next frame (protocol-codec.ts).
 * With any other key ws masks into a buffer of its own before send() returns.
 */
export function generateMask(mask: Buffer): void {
  do {
    const key = pooledRandomBytes(4);
    mask[0] = key[0];
    mask[1] = key[1];
    mask[2] = key[2];
    mask[3] = key[3];
  } while ((mask[0] | mask[1] | mask[2] | mask[3]) === 0);
}

type ConnectOutcome = { ok: true; ws: WebSocket } | { ok: false; outcome: BridgeConnectOutcome; detail: string };

function createCodec(opts: BridgeSessionOptions, port: BridgeCallPort): ProtocolCodec {
  switch (opts.protocol) {
    case 'native':
      return new NativeCodec(port.info, opts.sampleRate ?? 8000);
    case 'twilio':
      return new TwilioCodec(port.info, opts.twilio);
    case 'jambonz':
      return new JambonzCodec(port.info, opts.sampleRate ?? 8000);
    default:
      throw new TypeError(`unknown AI protocol ${String(opts.protocol)}`);
  }
}

/**
 * One call's connection to the AI platform.
 *
 * start() subscribes to the call's audio at once and connects in parallel with answering: frames that arrive
 * before the socket opens wait in a bounded buffer and are delivered in order after the opening messages. A socket
 * that drops mid-call is reconnected with exponential backoff for `reconnectWindowMs`, and the AI gets its opening
 * message again with `resumed: true`. A slow AI never blocks the event loop or grows memory without bound: past
 * `maxBufferedBytes` of unsent socket data, frames wait in the same bounded buffer and the oldest are dropped (and
 * counted). AI messages are decoded by the protocol codec; refused ones are counted and, where the protocol has an
 * error message, answered. Nothing the AI sends throws out of the socket handler.
 */
export class BridgeSession extends TypedEmitter<BridgeSessionEvents> {
  readonly codec: ProtocolCodec;
  readonly stats: BridgeSessionStats = {
    framesSent: 0,
    framesDropped: 0,
    aiMessages: 0,
    aiErrors: 0,
    aiAudioFramesDropped: 0,
    controlDropped: 0,
    reconnects: 0,
  };

  private _state: BridgeSessionState = 'idle';
  private ws: WebSocket | null = null;
  private readonly clock: Clock;
  private readonly metrics: BridgeSessionMetrics;
  private readonly log: BridgeLogger;
  private readonly ring: FrameRing;
  private readonly control: PendingControl[] = [];
  private readonly downlink = new DownlinkConverter();
  private readonly maxBuffered: number;
  /** ws.send options of audio frames (the codec's frame type). */
  private readonly audioSendOptions: typeof TEXT_FRAME | typeof BINARY_FRAME;
  /** Clock reads for the latency metrics are skipped when nothing observes them. */
  private readonly timesUplink: boolean;
  private readonly timesDownlink: boolean;
  private readonly unsubscribers: Unsubscribe[] = [];
  private readonly pendingMarks = new Map<number, string>();
  private markSeq = 0;
  private nextSeq = 0;
  private startedAt = 0;
  private startResolve: ((r: BridgeStartResult) => void) | null = null;
  private reconnectTimer: TimerHandle | undefined;
  private connectTimer: TimerHandle | undefined;
  private pingTimer: TimerHandle | undefined;
  private awaitingPong = false;
  private droppedAt = 0;
  private attempt = 0;
  /** The AI asked to end (hangup/disconnect): a close after that is not a drop to recover from. */
  private aiFinished = false;
  private closedPromise: Promise<void> = Promise.resolve();
  private closedResolve: (() => void) | null = null;

  constructor(
    private readonly port: BridgeCallPort,
    private readonly opts: BridgeSessionOptions,
  ) {
    super();
    const url = new URL(opts.url);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`AI platform URL must be ws:// or wss://, got ${opts.url}`);
    if (!(opts.connectTimeoutMs > 0)) throw new TypeError(`connectTimeoutMs must be positive, got ${opts.connectTimeoutMs}`);
    if (!(opts.reconnectWindowMs >= 0)) throw new TypeError(`reconnectWindowMs must be >= 0, got ${opts.reconnectWindowMs}`);
    this.codec = createCodec(opts, port);
    this.clock = opts.clock ?? systemClock;
    this.metrics = opts.metrics ?? {};
    this.log = opts.logger ?? silentBridgeLogger;
    this.ring = new FrameRing(opts.pendingFrames ?? DEFAULT_PENDING_FRAMES, FRAME_SAMPLES);
    this.maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    this.audioSendOptions = this.codec.audioFrames === 'text' ? TEXT_FRAME : BINARY_FRAME;
    this.timesUplink = this.metrics.uplinkLatency !== undefined;
    this.timesDownlink = this.metrics.downlinkLatency !== undefined;
  }

  get state(): BridgeSessionState {
    return this._state;
  }

  get callId(): string {
    return this.port.info.callId;
  }

  /** Frames waiting for the socket. */
  get pendingFrames(): number {
    return this.ring.length;
  }

  /** True while a socket to the AI is open. */
  get connected(): boolean {
    return this._state === 'open';
  }

  /**
   * Subscribe to the call's audio and DTMF and connect. Resolves once the socket is open, or with
   * `ai-unavailable` when the AI is unreachable, refuses the handshake or does not answer within the connect timeout.
   */
  start(): Promise<BridgeStartResult> {
    if (this._state !== 'idle') throw new InvalidStateError(`BridgeSession.start() in state ${this._state}`);
    this._state = 'connecting';
    this.startedAt = this.clock.now();
    this.closedPromise = new Promise<void>((resolve) => (this.closedResolve = resolve));
    this.unsubscribers.push(this.port.onFrame(this.onFrame));
    this.unsubscribers.push(this.port.onDtmf(this.onDtmf));
    const result = new Promise<BridgeStartResult>((resolve) => (this.startResolve = resolve));
    this.connect(this.opts.connectTimeoutMs, (r) => {
      if (this._state === 'ended') return;
      if (r.ok) {
        this.onOpen(r.ws, false);
        this.settleStart({ ok: true });
        return;
      }
      this.log.warn({ callId: this.callId, outcome: r.outcome, detail: r.detail }, 'AI platform unavailable');
      this.settleStart({ ok: false, reason: 'ai-unavailable', detail: r.detail });
      this.safeEmit('unavailable', { phase: 'connect', detail: r.detail });
      this.finish('ai-unavailable');
    });
    return result;
  }

  /**
   * End the session: tell the AI the call ended (call_end / Twilio stop), close the socket and stop listening to
   * the call. Idempotent. Resolves once the socket is closed (forced after a short grace period).
   */
  end(reason: string): Promise<void> {
    if (this._state === 'ended' || this._state === 'idle') {
      this._state = 'ended';
      return this.closedPromise;
    }
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const durationS = (this.clock.now() - this.startedAt) / 1000;
      const msg = this.codec.encodeEnd(reason, durationS);
      if (msg !== null) this.rawSend(msg);
    }
    this.settleStart({ ok: false, reason: 'cancelled', detail: `call ended (${reason}) before the AI connected` });
    this.finish(reason);
    return this.closedPromise;
  }

  /** Forward an SMS received on the call's number (native protocol only; others have no such message). */
  notifySms(sms: BridgeSmsNotice): void {
    if (this._state === 'ended') return;
    const msg = this.codec.encodeSms(sms, this.clock.wallNow());
    if (msg !== null) this.sendControl(msg);
  }

  // ---------------------------------------------------------------- uplink (caller -> AI)

  private readonly onFrame = (frame: Int16Array): void => {
    if (this._state === 'ended') return;
    const seq = this.nextSeq++;
    const wall = this.clock.wallNow();
    const ws = this.ws;
    if (this._state === 'open' && ws !== null && this.ring.length === 0 && this.control.length === 0 && ws.bufferedAmount <= this.maxBuffered) {
      this.sendFrame(ws, frame, seq, wall, this.timesUplink ? this.clock.now() : 0);
      return;
    }
    if (this.ring.push(frame, seq, wall, this.clock.now())) this.countUplinkDrop(1);
    if (this._state === 'open') this.flush();
  };

  private readonly onDtmf = (event: BridgeDtmfEvent): void => {
    if (this._state === 'ended') return;
    const msg = this.codec.encodeDtmf(event, this.clock.wallNow());
    if (msg !== null) this.sendControl(msg);
  };

  /** `capturedAt` is read only when the uplink latency is measured. */
  private sendFrame(ws: WebSocket, frame: Int16Array, seq: number, wall: number, capturedAt: number): void {
    ws.send(this.codec.encodeAudio(frame, seq, wall), this.audioSendOptions);
    this.stats.framesSent++;
    if (this.timesUplink) this.metrics.uplinkLatency?.((this.clock.now() - capturedAt) / 1000);
  }

  /** Send, in order, control messages and frames waiting for the socket, while the socket has room. */
  private flush(): void {
    const ws = this.ws;
    if (ws === null || this._state !== 'open') return;
    const ring = this.ring;
    const control = this.control;
    let sentControl = 0;
    while (ws.bufferedAmount <= this.maxBuffered) {
      if (sentControl < control.length && (ring.length === 0 || control[sentControl].beforeSeq <= ring.peekSeq())) {
        ws.send(control[sentControl++].msg);
        continue;
      }
      if (ring.length === 0) break;
      this.sendFrame(ws, ring.peekFrame(), ring.peekSeq(), ring.peekWall(), ring.peekCaptured());
      ring.shift();
    }
    if (sentControl > 0) control.splice(0, sentControl);
  }

  /** Control messages (DTMF, mark replies, errors) are never dropped for backpressure, only bounded while offline. */
  private sendControl(msg: WireMessage): void {
    const ws = this.ws;
    if (this._state === 'open' && ws !== null && this.ring.length === 0 && this.control.length === 0) {
      ws.send(msg);
      return;
    }
    if (this.control.length >= MAX_PENDING_CONTROL) {
      this.control.shift();
      this.stats.controlDropped++;
    }
    this.control.push({ msg, beforeSeq: this.nextSeq });
    if (this._state === 'open') {
      // A slow AI must still get DTMF and mark replies: send control ahead of backlogged audio.
      this.flush();
      if (this.control.length > 0 && ws !== null) {
        for (const c of this.control) ws.send(c.msg);
        this.control.length = 0;
      }
    }
  }

  private rawSend(msg: WireMessage): void {
    try {
      this.ws?.send(msg);
    } catch {
      // Socket closing underneath us: the close handler deals with it.
    }
  }

  private countUplinkDrop(n: number): void {
    this.stats.framesDropped += n;
    this.metrics.uplinkFramesDropped?.(n);
  }

  // ---------------------------------------------------------------- downlink (AI -> caller)

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this._state === 'ended') return;
    const arrived = this.timesDownlink ? this.clock.now() : 0;
    this.stats.aiMessages++;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const decoded = isBinary ? this.codec.decodeBinary(buf) : this.codec.decodeTextFrame(buf);
    if (!decoded.ok) {
      this.rejectMessage(decoded.error);
      return;
    }
    try {
      this.execute(decoded.command, arrived);
    } catch (err) {
      // The call side failed to carry out a valid command: report it, keep the call and the socket.
      this.rejectMessage({ code: 'BRIDGE_ACTION_FAILED', message: err instanceof Error ? err.message : String(err), type: decoded.command.kind });
    }
  }

  private rejectMessage(error: AiMessageError): void {
    this.stats.aiErrors++;
    this.metrics.aiMessageRejected?.(error.code);
    this.log.debug({ callId: this.callId, code: error.code, type: error.type }, error.message);
    this.safeEmit('aierror', error);
    const reply = this.codec.encodeError(error);
    if (reply !== null) this.sendControl(reply);
  }

  private execute(cmd: AiCommand, arrived: number): void {
    const port = this.port;
    switch (cmd.kind) {
      case 'audio': {
        const converted = this.downlink.convert(cmd);
        if (!converted.ok) {
          this.countAiDrop(1);
          this.rejectMessage({ code: 'BRIDGE_BAD_FIELD', message: converted.message, type: 'audio' });
          return;
        }
        const pcm = converted.pcm;
        if (pcm.length > 0 && !port.enqueuePcm(pcm)) {
          this.countAiDrop(Math.ceil(pcm.length / FRAME_SAMPLES));
          this.rejectMessage({ code: 'BRIDGE_ACTION_FAILED', message: 'playout queue full: audio dropped', type: 'audio' });
          return;
        }
        if (this.timesDownlink) this.metrics.downlinkLatency?.((this.clock.now() - arrived) / 1000);
        if (cmd.playId !== undefined) {
          const id = cmd.playId;
          port.mark(`playDone:${id ?? ''}`, () => {
            const msg = this.codec.encodePlayDone(id);
            if (msg !== null && this._state !== 'ended') this.sendControl(msg);
          });
        }
        return;
      }
      case 'clear':
        // Barge-in: drop all queued audio at once; the port completes pending marks as `cleared`.
        port.clearQueue();
        this.downlink.reset();
        return;
      case 'mark': {
        const id = ++this.markSeq;
        const name = cmd.name;
        this.pendingMarks.set(id, name);
        port.mark(name, (event) => this.onMarkDone(id, name, event));
        return;
      }
      case 'clearMarks':
        for (const [id, name] of this.pendingMarks) this.onMarkDone(id, name, 'cleared');
        return;
      case 'hangup':
        this.aiFinished = true;
        port.hangup(cmd.reason);
        return;
      case 'transfer':
        port.transfer(cmd.target, cmd.type);
        return;
      case 'sendDtmf':
        port.sendDtmf(cmd.digits);
        return;
      case 'hold':
        port.hold();
        return;
      case 'resume':
        port.resume();
        return;
      case 'play':
        port.play(cmd.source);
        return;
      case 'recordStart':
        port.recordStart();
        return;
      case 'recordStop':
        port.recordStop();
        return;
      case 'transcript':
        port.transcript(cmd.entry);
        return;
      case 'ignored':
        return;
    }
  }

  private onMarkDone(id: number, name: string, event: BridgeMarkEvent): void {
    // A mark already answered (clearMarks) is not answered twice when the media layer reports it later.
    if (!this.pendingMarks.delete(id) || this._state === 'ended') return;
    const msg = this.codec.encodeMark(name, event);
    if (msg !== null) this.sendControl(msg);
  }

  private countAiDrop(frames: number): void {
    this.stats.aiAudioFramesDropped += frames;
    this.metrics.framesDropped?.(frames);
  }

  // ---------------------------------------------------------------- connection management

  private connect(timeoutMs: number, done: (r: ConnectOutcome) => void): void {
    const opts = this.opts;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const protocols = this.codec.subprotocol ? [this.codec.subprotocol] : [];
    let settled = false;
    let ws: WebSocket;
    const settle = (r: ConnectOutcome): void => {
      if (settled) return;
      settled = true;
      this.clock.clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      if (!r.ok) {
        ws.removeAllListeners();
        ws.on('error', () => undefined); // a late error from the dead socket must not become an uncaught exception
        ws.terminate();
      }
      this.metrics.connectAttempt?.(r.ok ? 'ok' : r.outcome);
      done(r);
    };
    try {
      ws = new WebSocket(opts.url, protocols, {
        headers,
        maxPayload: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE,
        perMessageDeflate: false,
        generateMask,
        handshakeTimeout: timeoutMs,
        followRedirects: false,
        rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true,
        ...(opts.tls?.ca !== undefined ? { ca: opts.tls.ca } : {}),
      });
    } catch (err) {
      // Bad URL or options: report like any other failure, asynchronously, so callers see one code path.
      const detail = err instanceof Error ? err.message : String(err);
      queueMicrotask(() => {
        this.metrics.connectAttempt?.('failed');
        done({ ok: false, outcome: 'failed', detail });
      });
      return;
    }
    this.ws = ws;
    this.connectTimer = this.clock.setTimeout(() => settle({ ok: false, outcome: 'timeout', detail: `no connection within ${timeoutMs} ms` }), timeoutMs);
    ws.on('open', () => settle({ ok: true, ws }));
    ws.on('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      res.resume();
      settle({ ok: false, outcome: 'rejected', detail: `handshake refused with HTTP ${res.statusCode ?? 0}` });
    });
    ws.on('error', (err: Error) => settle({ ok: false, outcome: /timeout/i.test(err.message) ? 'timeout' : 'failed', detail: err.message }));
    ws.on('close', (code: number) => settle({ ok: false, outcome: 'failed', detail: `closed during handshake (code ${code})` }));
  }

  private onOpen(ws: WebSocket, resumed: boolean): void {
    ws.removeAllListeners();
    this.ws = ws;
    this._state = 'open';
    this.awaitingPong = false;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.onSocketClose(ws, code, reason.toString('utf8')));
    ws.on('error', (err: Error) => this.log.debug({ callId: this.callId, err: err.message }, 'AI socket error'));
    ws.on('pong', () => (this.awaitingPong = false));
    this.codec.resetUplink();
    for (const m of this.codec.openMessages(resumed)) ws.send(m);
    this.flush();
    this.schedulePing();
    this.log.info({ callId: this.callId, protocol: this.codec.protocol, resumed }, 'AI platform connected');
    this.safeEmit('open', { resumed });
  }

  private onSocketClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clock.clearTimeout(this.pingTimer);
    if (this._state === 'ended') {
      this.closedResolve?.();
      return;
    }
    if (this.aiFinished || code === CLOSE_NORMAL) {
      // The AI ended the conversation on purpose; if it did not say hangup, the call must not stay up in silence.
      if (!this.aiFinished) this.port.hangup('ai-closed');
      this.finish('ai-closed');
      return;
    }
    this.log.warn({ callId: this.callId, code, reason }, 'AI connection dropped');
    if (this.opts.reconnectWindowMs <= 0) {
      this.safeEmit('unavailable', { phase: 'reconnect', detail: `connection lost (code ${code}); reconnection disabled` });
      this.finish('ai-lost');
      return;
    }
    this._state = 'reconnecting';
    this.droppedAt = this.clock.now();
    this.attempt = 0;
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(code: number): void {
    const backoff = this.opts.reconnectBackoff ?? { initialMs: 200, maxMs: 2000 };
    const delay = Math.min(backoff.initialMs * 2 ** Math.min(this.attempt, 16), backoff.maxMs);
    const deadline = this.droppedAt + this.opts.reconnectWindowMs;
    if (this.clock.now() + delay >= deadline) {
      this.safeEmit('unavailable', { phase: 'reconnect', detail: `no reconnection within ${this.opts.reconnectWindowMs} ms` });
      this.finish('ai-lost');
      return;
    }
    this.attempt++;
    this.safeEmit('reconnecting', { attempt: this.attempt, code });
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this._state !== 'reconnecting') return;
      const remaining = Math.max(1, deadline - this.clock.now());
      this.connect(Math.min(this.opts.connectTimeoutMs, remaining), (r) => {
        if (this._state !== 'reconnecting') return;
        if (r.ok) {
          this.stats.reconnects++;
          this.metrics.reconnect?.();
          this.onOpen(r.ws, true);
        } else {
          this.ws = null;
          this.scheduleReconnect(code);
        }
      });
    }, delay);
  }

  private schedulePing(): void {
    const every = this.opts.pingIntervalMs ?? DEFAULT_PING_MS;
    if (every <= 0) return;
    this.pingTimer = this.clock.setTimeout(() => {
      const ws = this.ws;
      if (ws === null || this._state !== 'open') return;
      if (this.awaitingPong) {
        // A half-open TCP connection never closes by itself: treat a missed pong as a drop (RFC 6455 §5.5.2).
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      try {
        ws.ping();
      } catch {
        // closing
      }
      this.schedulePing();
    }, every);
  }

  private settleStart(r: BridgeStartResult): void {
    const resolve = this.startResolve;
    this.startResolve = null;
    resolve?.(r);
  }

  /** Final state: stop listening to the call, close the socket, emit `close`. */
  private finish(reason: string): void {
    if (this._state === 'ended') return;
    this._state = 'ended';
    for (const u of this.unsubscribers.splice(0)) {
      try {
        u();
      } catch {
        // the call is going away anyway
      }
    }
    this.clock.clearTimeout(this.reconnectTimer);
    this.clock.clearTimeout(this.connectTimer);
    this.clock.clearTimeout(this.pingTimer);
    this.ring.clear();
    this.control.length = 0;
    this.pendingMarks.clear();
    const ws = this.ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) {
      this.ws = null;
      this.closedResolve?.();
    } else if (ws.readyState === WebSocket.CONNECTING) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      this.ws = null;
      this.closedResolve?.();
    } else {
      ws.close(CLOSE_NORMAL, reason.slice(0, 100));
      // Do not wait for a peer that never answers the close handshake.
      const grace = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      grace.unref();
      ws.once('close', () => {
        clearTimeout(grace);
        this.ws = null;
        this.closedResolve?.();
      });
    }
    this.safeEmit('close', { reason });
  }
}
