import {
  dtmfSequence,
  G711Codec,
  g711CodecByName,
  g711CodecByPayloadType,
  GoertzelDtmfDetector,
  isDtmfDigit,
  PCMA,
  PCMU,
  type DtmfDigitEvent,
  type ToneSequence,
  type WavWriteSummary,
} from '../dsp';
import {
  JitterBuffer,
  JitterFrame,
  ReorderBuffer,
  RtpEndpoint,
  type DtmfEvent,
  type JitterBufferOptions,
  type RtpDirection,
  type RtpEndpointOptions,
  type RtpEndpointStats,
  type RtpFrameOptions,
  type RtpPacket,
} from '../rtp';
import { Clock, InvalidStateError, systemClock, TypedEmitter, type TimerHandle } from '../util';
import { CallRecorder, type RecordOptions } from './call-recorder';
import { DtmfArbiter, type DtmfArbiterOptions, type MediaDtmfEvent } from './dtmf-arbiter';
import type { MediaTickTarget } from './media-ticker';
import { MediaTicker } from './media-ticker';
import { PcmQueue } from './pcm-queue';
import { BufferPlaybackSource, TonePlaybackSource, type PlaybackSource } from './playback-source';
import { FrameRing, SampleRing } from './sample-ring';
import { WavCache } from './wav-cache';

/** Samples per 20 ms frame at 8 kHz: the unit of everything the session emits and sends. */
export const MEDIA_FRAME_SAMPLES = 160;
/** Largest received packet decoded (60 ms of G.711); matches the jitter buffer's default slot size. */
const MAX_PACKET_SAMPLES = 480;

export type MediaDirection = RtpDirection;

/** A codec the peer may send, by payload type (RFC 3551 static or an rtpmap'd dynamic type). */
export interface MediaCodecRef {
  payloadType: number;
  codec: string;
}

/**
 * The negotiated stream, from the local point of view. The SDP layer's NegotiatedMedia has this shape, so a route
 * hands the offer/answer result over as is; media itself knows nothing of SDP.
 */
export interface MediaParameters {
  remoteAddress: string;
  remotePort: number;
  remoteRtcpAddress?: string;
  remoteRtcpPort?: number;
  /** Payload type we send. */
  payloadType: number;
  /** Every agreed codec (all accepted on receive). */
  codecs: readonly MediaCodecRef[];
  /** RFC 4733 telephone-event payload type, or null when not negotiated. */
  telephoneEventPt: number | null;
  direction: MediaDirection;
}

/**
 * When the in-band (Goertzel) DTMF detector runs on received audio:
 * - `auto` (default): only while telephone-event is not negotiated. The detector costs about 1.5 us of CPU per 20 ms
 *   frame of speech and 5 us on tones (bench/media.ts), a few percent of the media path, which calls that negotiated
 *   RFC 4733 still need not pay.
 * - `always`: on every call; when telephone-event is negotiated too, the {@link DtmfArbiter} reports each press once,
 *   preferring RFC 4733. For gateways that negotiate telephone-event but send tones in-band.
 * - `never`: RFC 4733 only.
 */
export type InbandDtmfMode = 'always' | 'auto' | 'never';

/** How play() ended. */
export type PlayResult = 'finished' | 'stopped' | 'closed';

export interface PlayOptions {
  /** Repeat until stop() (music on hold). */
  loop?: boolean;
}

export interface SendDtmfOptions {
  /** Tone / event duration per digit, ms (default 100). */
  durationMs?: number;
  /** Pause between in-band digits, ms (default 70). */
  pauseMs?: number;
}

export interface MediaSessionOptions {
  /** Shared send/receive clock; without one the session runs its own (a production engine shares one). */
  ticker?: MediaTicker;
  clock?: Clock;
  /** Jitter buffer sizing (default: depth 2-8 packets). */
  jitter?: JitterBufferOptions;
  inbandDtmf?: InbandDtmfMode;
  dtmf?: DtmfArbiterOptions;
  /**
   * While nothing is playing, send G.711 silence rather than nothing (default true): many carriers and NATs tear
   * down calls, or lose the binding, when RTP stops. Each return to audio still carries the marker bit.
   */
  sendSilenceWhenIdle?: boolean;
  /** Decoded-WAV cache for play(path); a private one by default. */
  wavCache?: WavCache;
  /** Most audio enqueuePcm() may buffer, ms (default 10 minutes). */
  maxQueuedMs?: number;
  /** How long `arrivalframe` delivery waits for a missing packet before concealing it, ms (default 20). */
  arrivalWaitMs?: number;
}

export type MediaSessionEvents = {
  /**
   * 20 ms of received audio (160 samples of 8 kHz PCM16), in order, one per tick while the peer's stream plays.
   * `concealed` is true when any of it was made up for lost packets. The array is reused: copy what you keep.
   */
  frame: [pcm: Int16Array, concealed: boolean];
  /**
   * The same received audio as `frame`, but as soon as the packets carrying it arrive, with no playout clock: for
   * consumers that buffer on their side (the AI bridge's uplink). Frames come in sequence order; a missing packet is
   * awaited briefly (`arrivalWaitMs`), then concealed (at most 5 frames per gap) and the stream goes on. The path
   * runs only while this event has listeners. The array is reused: copy what you keep.
   */
  arrivalframe: [pcm: Int16Array, concealed: boolean];
  /** A key press, reported once (RFC 4733 preferred over in-band). */
  dtmf: [event: MediaDtmfEvent];
  /** All audio enqueued before mark(name) has been sent. */
  markplayed: [name: string];
  /** The mark was dropped by clearQueue() or close() before its audio was sent. */
  markcleared: [name: string];
  /** No RTP for the endpoint's media timeout while media was expected. */
  timeout: [];
  closed: [];
};

/** Counters of one session. */
export interface MediaSessionStats {
  /** Frames emitted by `frame`, and how many of them held concealment. */
  framesReceived: number;
  framesConcealed: number;
  /** Packets decoded from the jitter buffer. */
  packetsDecoded: number;
  /** Audio frames sent, and silence frames sent while idle. */
  framesSent: number;
  silenceSent: number;
  /** Packets of a payload type we cannot decode. */
  unsupportedPayload: number;
  jitterLate: number;
  jitterLost: number;
  jitterDuplicates: number;
  jitterDiscarded: number;
  jitterResets: number;
  jitterDepth: number;
  queuedSamples: number;
  /** Frames dropped from a bridge because the peer's frames piled up (latency bound). */
  bridgeDropped: number;
  /** Queued samples dropped after stalls of the send clock, so a real-time stream did not keep the delay. */
  queueStallDropped: number;
  /** Queued samples dropped from a real-time stream's standing delay (a frame once late), see PcmQueue. */
  queueStandingDropped: number;
  /** Received packets dropped because the jitter buffer held far more than its target (after a stall). */
  latencyDropped: number;
  dtmfSuppressed: number;
  /** `arrivalframe` path: frames emitted, of them concealed, packets delivered after being held behind a gap. */
  arrivalFrames: number;
  arrivalConcealed: number;
  arrivalReordered: number;
  /** `arrivalframe` path: sequence numbers given up as lost, and packets dropped as late or duplicate. */
  arrivalLost: number;
  arrivalLate: number;
  rtp: RtpEndpointStats;
}

interface ActivePlayback {
  source: PlaybackSource;
  resolve: (result: PlayResult) => void;
}

const MARKER: RtpFrameOptions = { marker: true };
/** Bridged audio kept waiting at most this many frames: more means the other leg's clock ran ahead (stall). */
const BRIDGE_MAX_FRAMES = 3;
/** After a stall, at most this many extra received frames are drained per tick (1 s). */
const MAX_DRAIN = 50;
/**
 * Frames buffered beyond the jitter buffer's target depth that are tolerated before the oldest are dropped (200 ms).
 * The jitter buffer itself sheds surplus slowly (one frame a second), so after a long stall of the event loop the
 * backlog would otherwise become lasting delay. Shorter backlogs are kept: the caller's audio feeds speech
 * recognition, where a lost word costs more than a little delay.
 */
const MAX_EXCESS_FRAMES = 10;
/** Consecutive lost packets concealed on the arrival path; a longer gap is skipped (repeating more is only noise). */
const ARRIVAL_MAX_CONCEALED = 5;

/**
 * The media of one call leg over an {@link RtpEndpoint}: decodes what the peer sends into 20 ms PCM frames (jitter
 * buffer, loss concealment, re-chunking of any ptime), detects DTMF (RFC 4733 and in-band, one report per press),
 * and sends one 20 ms frame per tick from the highest-priority active source:
 *
 *   RFC 4733 digit being sent (audio held) > in-band DTMF tones > play() > [unless on hold] bridged leg > PCM queue
 *   > silence (or nothing).
 *
 * Everything outgoing goes through one RtpSender: one SSRC with continuous sequence numbers and timestamps whatever
 * the source, and the marker bit on the first frame of each talk spurt (RFC 3551 §4.1). Media knows nothing of SIP.
 */
export class MediaSession extends TypedEmitter<MediaSessionEvents> implements MediaTickTarget {
  readonly endpoint: RtpEndpoint;
  private readonly clock: Clock;
  /** The endpoint runs on this session's clock: its arrival times serve as ours. */
  private readonly endpointClock: boolean;
  private readonly ticker: MediaTicker;
  private readonly ownTicker: boolean;
  private readonly wavCache: WavCache;
  private readonly inbandMode: InbandDtmfMode;
  private readonly sendSilence: boolean;
  private readonly jb: JitterBuffer;
  private readonly jbFrame = new JitterFrame();
  private readonly ring = new SampleRing(1024);
  private readonly rxFrame = new Int16Array(MEDIA_FRAME_SAMPLES);
  private readonly decodeBuf = new Int16Array(MAX_PACKET_SAMPLES);
  private readonly lastPacket = new Int16Array(MAX_PACKET_SAMPLES);
  private lastPacketLen = 0;
  private concealRun = 0;
  private readonly rxCodecs: (G711Codec | undefined)[] = new Array<G711Codec | undefined>(128);
  private sendCodec: G711Codec = PCMU;
  private readonly silencePayload = new Uint8Array(MEDIA_FRAME_SAMPLES);
  private txFrame = new Int16Array(MEDIA_FRAME_SAMPLES);
  private readonly txPayload = new Uint8Array(MEDIA_FRAME_SAMPLES);
  private txActive = false;
  /** The frame sent ahead of the next tick (see sendAhead); it becomes txFrame at that tick, for the recording. */
  private txAhead = new Int16Array(MEDIA_FRAME_SAMPLES);
  private aheadSent = false;
  private telephoneEventPt: number | null = null;
  private detector: GoertzelDtmfDetector | null = null;
  private readonly arbiter: DtmfArbiter;
  private readonly queue: PcmQueue;
  private partialWaited = false;
  private player: ActivePlayback | null = null;
  private playSeq = 0;
  private toneDtmf: ActivePlayback | null = null;
  private dtmfTail: Promise<void> = Promise.resolve();
  private rfcDtmfSending = 0;
  private held = false;
  private talking = false;
  private peer: MediaSession | null = null;
  /** Frames received by the bridged peer, waiting to be sent on this leg. */
  private readonly bridgeRing = new FrameRing(MEDIA_FRAME_SAMPLES, BRIDGE_MAX_FRAMES + 1);
  private recorder: CallRecorder | null = null;
  private recorderOpening = false;
  private rxGot = false;
  /** The `arrivalframe` path (created when first listened to). */
  private arrival: ReorderBuffer | null = null;
  private readonly arrivalWaitMs: number;
  private readonly arrivalRing = new SampleRing(1024);
  private readonly arrivalFrame = new Int16Array(MEDIA_FRAME_SAMPLES);
  private readonly arrivalDecode = new Int16Array(MAX_PACKET_SAMPLES);
  private readonly arrivalLast = new Int16Array(MAX_PACKET_SAMPLES);
  private arrivalLastLen = 0;
  private arrivalTimer: TimerHandle | undefined;
  private readonly arrivalCounters = { frames: 0, concealed: 0 };
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly counters = {
    framesReceived: 0,
    framesConcealed: 0,
    packetsDecoded: 0,
    framesSent: 0,
    silenceSent: 0,
    unsupportedPayload: 0,
    bridgeDropped: 0,
    latencyDropped: 0,
  };

  /** Allocate ports from `pool`, open the endpoint and start the session. */
  static async open(endpoint: RtpEndpointOptions, opts: MediaSessionOptions = {}): Promise<MediaSession> {
    const ep = await RtpEndpoint.open({ ...endpoint, clock: endpoint.clock ?? opts.clock, payloadTypes: endpoint.payloadTypes ?? [0, 8] });
    return new MediaSession(ep, opts);
  }

  /** Bridge two legs: each one's received audio is sent to the other (PCMU <-> PCMA transcoded through PCM). */
  static connect(a: MediaSession, b: MediaSession): void {
    a.connect(b);
  }

  constructor(endpoint: RtpEndpoint, opts: MediaSessionOptions = {}) {
    super();
    this.endpoint = endpoint;
    this.clock = opts.clock ?? systemClock;
    this.endpointClock = endpoint.usesClock(this.clock);
    this.ownTicker = opts.ticker === undefined;
    this.ticker = opts.ticker ?? new MediaTicker({ clock: this.clock });
    this.wavCache = opts.wavCache ?? new WavCache(16 * 1024 * 1024);
    this.inbandMode = opts.inbandDtmf ?? 'auto';
    this.sendSilence = opts.sendSilenceWhenIdle ?? true;
    this.arrivalWaitMs = opts.arrivalWaitMs ?? 20;
    this.jb = new JitterBuffer({ minDepth: 2, maxDepth: 8, maxConcealed: 5, ...opts.jitter });
    this.queue = new PcmQueue(Math.round(((opts.maxQueuedMs ?? 600_000) * 8000) / 1000));
    this.arbiter = new DtmfArbiter((ev) => this.safeEmit('dtmf', ev), opts.dtmf);
    this.rxCodecs[0] = PCMU;
    this.rxCodecs[8] = PCMA;
    this.setSendCodec(g711CodecByPayloadType(endpoint.sender.payloadType) ?? PCMU);
    this.updateDetector();
    endpoint.setAudioSink(this.onRtp);
    endpoint.on('dtmf', this.onRfc4733);
    endpoint.on('telephoneevent', this.onNonAudio);
    endpoint.on('timeout', this.onTimeout);
    endpoint.on('close', this.onEndpointClose);
    endpoint.setSendBatch(this.ticker.sendBatch);
    this.ticker.add(this);
  }

  /** Local RTP port (for the SDP m= line). */
  get rtpPort(): number {
    return this.endpoint.rtpPort;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while play() audio is being sent (after a WAV file has loaded). */
  get isPlaying(): boolean {
    return this.player !== null;
  }

  /** True between hold() and resume(). */
  get isHeld(): boolean {
    return this.held;
  }

  /** The codec we send. */
  get codec(): G711Codec {
    return this.sendCodec;
  }

  /** Audio waiting in the PCM queue, in samples. */
  get queuedSamples(): number {
    return this.queue.samples;
  }

  /** The bridged leg, if any (itself when echoing). */
  get connectedTo(): MediaSession | null {
    return this.peer;
  }

  /** Apply the negotiated stream (answer, or a re-INVITE's new description). */
  setRemote(p: MediaParameters): void {
    this.assertOpen();
    const payloadTypes = p.codecs.map((c) => c.payloadType);
    this.endpoint.setRemote({
      address: p.remoteAddress,
      port: p.remotePort,
      rtcpAddress: p.remoteRtcpAddress,
      rtcpPort: p.remoteRtcpPort,
      payloadTypes,
      telephoneEventPt: p.telephoneEventPt,
    });
    this.rxCodecs.fill(undefined);
    for (const c of p.codecs) {
      const codec = g711CodecByName(c.codec) ?? g711CodecByPayloadType(c.payloadType);
      if (codec && c.payloadType >= 0 && c.payloadType < 128) this.rxCodecs[c.payloadType] = codec;
    }
    const send = p.codecs.find((c) => c.payloadType === p.payloadType);
    const codec = (send && g711CodecByName(send.codec)) ?? g711CodecByPayloadType(p.payloadType);
    if (!codec) throw new TypeError(`payload type ${p.payloadType} is not a G.711 codec`);
    this.endpoint.setSendPayloadType(p.payloadType);
    this.setSendCodec(codec);
    this.endpoint.setDirection(p.direction);
    this.telephoneEventPt = p.telephoneEventPt;
    this.updateDetector();
  }

  // ---- outgoing audio -------------------------------------------------------------------------------------------

  /**
   * Play a WAV file (any format loadWavAs8kMono reads; decoded once and cached), 8 kHz PCM16 samples, a tone
   * cadence, or a PlaybackSource the caller owns (music on hold pulled from a shared stream). Replaces what play()
   * was playing (that call resolves 'stopped'). Resolves when the audio ended ('finished'), stop() or another play()
   * cut it ('stopped'), or the session closed ('closed'). Rejects when the file cannot be read or decoded.
   */
  async play(source: string | Int16Array | ToneSequence | PlaybackSource, opts: PlayOptions = {}): Promise<PlayResult> {
    this.assertOpen();
    const token = ++this.playSeq;
    this.endPlayback('stopped');
    let src: PlaybackSource;
    if (typeof source === 'string') {
      const pcm = await this.wavCache.load(source);
      if (this.closed) return 'closed';
      if (token !== this.playSeq) return 'stopped';
      src = new BufferPlaybackSource(pcm, opts.loop ?? false);
    } else if (source instanceof Int16Array) {
      src = new BufferPlaybackSource(source, opts.loop ?? false);
    } else if ('fill' in source) {
      src = source;
    } else {
      src = new TonePlaybackSource(opts.loop ? { segments: source.segments, repeat: true } : source);
    }
    return new Promise<PlayResult>((resolve) => {
      this.player = { source: src, resolve };
    });
  }

  /** Stop what play() is playing (including a file still loading). */
  stop(): void {
    this.playSeq++;
    this.endPlayback('stopped');
  }

  /**
   * Queue PCM16 8 kHz mono audio of any length (the AI's speech); sent in 20 ms frames at real time. Copied. A frame
   * that completes while this period's packet is still unsent leaves at once (see sendAhead).
   */
  enqueuePcm(pcm: Int16Array): boolean {
    this.assertOpen();
    const ok = this.queue.enqueue(pcm);
    if (ok && !this.aheadSent) this.sendAhead();
    return ok;
  }

  /** Report `markplayed` once everything queued so far has been sent (or `markcleared` if it is dropped). */
  mark(name: string): void {
    this.assertOpen();
    this.queue.mark(name);
  }

  /** Barge-in: drop every queued sample at once; pending marks come back as `markcleared`. */
  clearQueue(): void {
    const names = this.queue.clear();
    this.partialWaited = false;
    for (const n of names) this.safeEmit('markcleared', n);
  }

  /**
   * Send digits: as RFC 4733 events when telephone-event was negotiated (audio is held meanwhile, §2.5.1.2), else
   * as in-band tones (ITU-T Q.23 levels). Calls queue behind each other. Rejects with TypeError on a bad digit.
   */
  sendDtmf(digits: string, opts: SendDtmfOptions = {}): Promise<void> {
    this.assertOpen();
    const list = digits.toUpperCase();
    for (const d of list) if (!isDtmfDigit(d)) return Promise.reject(new TypeError(`not a DTMF digit: ${JSON.stringify(d)}`));
    if (list.length === 0) return Promise.resolve();
    const durationMs = opts.durationMs ?? 100;
    const run = async (): Promise<void> => {
      if (this.closed) return;
      if (this.telephoneEventPt !== null) {
        this.rfcDtmfSending++;
        try {
          for (const d of list) {
            if (this.closed) break;
            await this.endpoint.sendDtmf(d, durationMs);
          }
        } finally {
          this.rfcDtmfSending--;
        }
        return;
      }
      const source = new TonePlaybackSource(dtmfSequence(list, { durationMs, pauseMs: opts.pauseMs ?? 70 }));
      await new Promise<PlayResult>((resolve) => {
        this.toneDtmf = { source, resolve };
      });
    };
    const next = this.dtmfTail.then(run, run);
    this.dtmfTail = next.catch(() => undefined);
    return next;
  }

  /** Stop sending the conversation (bridged audio, PCM queue; nothing is dropped). play() still plays (music on hold). */
  hold(): void {
    this.held = true;
  }

  /** Send the conversation again after hold(). */
  resume(): void {
    this.held = false;
  }

  /**
   * Count the media timeout from now, and re-arm it if it already fired. The call layer calls this when the call is
   * answered: silence while a call rings (no early media) is not a dead call.
   */
  restartMediaTimeout(): void {
    if (!this.closed) this.endpoint.restartMediaTimeout();
  }

  /** Bridge this leg with `other` (itself: echo). A previous bridge of either leg is dissolved. */
  connect(other: MediaSession): void {
    this.assertOpen();
    if (other.closed) throw new InvalidStateError('cannot connect to a closed media session');
    if (this.peer === other) return;
    this.disconnect();
    other.disconnect();
    this.peer = other;
    other.peer = this;
  }

  /** Dissolve the bridge (both legs). */
  disconnect(): void {
    const peer = this.peer;
    if (!peer) return;
    this.peer = null;
    this.bridgeRing.clear();
    if (peer !== this) {
      peer.peer = null;
      peer.bridgeRing.clear();
    }
  }

  // ---- recording ------------------------------------------------------------------------------------------------

  /**
   * Record this leg to a WAV file: stereo (left = received from the peer, right = sent to it) or mixed mono.
   * Resolves once the file is created. Throws InvalidStateError if already recording.
   */
  async record(path: string, opts: RecordOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.recorder || this.recorderOpening) throw new InvalidStateError('already recording');
    this.recorderOpening = true;
    let rec: CallRecorder;
    try {
      rec = await CallRecorder.open(path, opts);
    } finally {
      this.recorderOpening = false;
    }
    if (this.closed) {
      await rec.close();
      return;
    }
    this.recorder = rec;
  }

  /** Finish the recording; resolves with what was written, or null when not recording. */
  async stopRecording(): Promise<WavWriteSummary | null> {
    const rec = this.recorder;
    if (!rec) return null;
    this.recorder = null;
    return rec.close();
  }

  get isRecording(): boolean {
    return this.recorder !== null;
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /**
   * Stop everything, send RTCP BYE and release the ports (synchronously), then finish a recording. Resolves when the
   * recording file is complete. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.ticker.remove(this);
    if (this.ownTicker) this.ticker.close();
    this.clock.clearTimeout(this.arrivalTimer);
    this.arrivalTimer = undefined;
    this.disconnect();
    this.endpoint.off('close', this.onEndpointClose);
    this.endpoint.close();
    this.playSeq++;
    this.endPlayback('closed');
    const tone = this.toneDtmf;
    this.toneDtmf = null;
    tone?.resolve('closed');
    this.clearQueue();
    this.arbiter.flush();
    const rec = this.recorder;
    this.recorder = null;
    this.closing = rec ? rec.close().then(() => undefined, () => undefined) : Promise.resolve();
    this.safeEmit('closed');
    this.removeAllListeners();
    return this.closing;
  }

  stats(): MediaSessionStats {
    const jb = this.jb;
    return {
      ...this.counters,
      jitterLate: jb.late,
      jitterLost: jb.framesLost,
      jitterDuplicates: jb.duplicates,
      jitterDiscarded: jb.discarded,
      jitterResets: jb.resets,
      jitterDepth: jb.targetDepth,
      queuedSamples: this.queue.samples,
      queueStallDropped: this.queue.stallDroppedSamples,
      queueStandingDropped: this.queue.standingDroppedSamples,
      dtmfSuppressed: this.arbiter.suppressed,
      arrivalFrames: this.arrivalCounters.frames,
      arrivalConcealed: this.arrivalCounters.concealed,
      arrivalReordered: this.arrival?.reordered ?? 0,
      arrivalLost: this.arrival?.lost ?? 0,
      arrivalLate: (this.arrival?.late ?? 0) + (this.arrival?.duplicates ?? 0),
      rtp: this.endpoint.stats(),
    };
  }

  // ---- the tick -------------------------------------------------------------------------------------------------

  /** @internal Phase 1 of the media tick: pick this period's frame and send it. */
  onSendTick(missed = 0, overdue = 0): void {
    if (this.closed) return;
    this.queue.tick(missed, overdue);
    if (this.aheadSent) {
      // This period's packet already left (queue audio sent on arrival): record it as this tick's frame and keep
      // the stream one period ahead while the queue holds audio.
      this.aheadSent = false;
      const sent = this.txAhead;
      this.txAhead = this.txFrame;
      this.txFrame = sent;
      this.txActive = true;
      this.sendAhead();
      if (this.queue.pendingMarks > 0) this.queue.takeReachedMarks(this.onMarkReached);
      return;
    }
    const got = this.produce();
    if (got > 0) {
      const frame = this.txFrame;
      if (got < MEDIA_FRAME_SAMPLES) frame.fill(0, got);
      this.sendCodec.encodeInto(frame, this.txPayload);
      // RFC 3551 §4.1: marker on the first packet of a talk spurt.
      if (this.endpoint.sendFrame(this.txPayload, MEDIA_FRAME_SAMPLES, this.talking ? undefined : MARKER)) this.counters.framesSent++;
      this.talking = true;
      this.txActive = true;
    } else {
      this.talking = false;
      this.txActive = false;
      if (this.sendSilence && !this.held && this.rfcDtmfSending === 0) {
        if (this.endpoint.sendFrame(this.silencePayload, MEDIA_FRAME_SAMPLES)) this.counters.silenceSent++;
      }
    }
    if (this.queue.pendingMarks > 0) this.queue.takeReachedMarks(this.onMarkReached);
  }

  /** @internal Phase 2 of the media tick: take this period's received frame(s). */
  onReceiveTick(missed: number): void {
    if (this.closed) return;
    // Stall backlog first (frames of the ticks that were skipped), then this tick's frame. The recording gets the
    // skipped periods too (what was received; nothing was sent in them), so its timeline stays the call's.
    for (let i = 0; i < missed && i < MAX_DRAIN && !this.closed; i++) {
      const got = this.receiveFrame();
      this.recorder?.write(got ? this.rxFrame : null, null);
    }
    if (this.closed) return;
    const jb = this.jb;
    while (jb.size > jb.targetDepth + MAX_EXCESS_FRAMES) {
      // Latency guard: late audio is worth less than current audio in a conversation.
      jb.get(this.jbFrame);
      this.counters.latencyDropped++;
    }
    this.rxGot = this.receiveFrame();
    // One tick, one frame per channel: the recording's channels stay aligned.
    const rec = this.recorder;
    if (rec) rec.write(this.rxGot ? this.rxFrame : null, this.txActive ? this.txFrame : null);
    if (this.arbiter.hasPending) this.arbiter.poll(this.clock.now());
  }

  /**
   * Send the next queued frame now instead of at the next tick, as that tick's packet (at most one per period:
   * the tick then sends nothing new for its own period). On an idle stream this is the start of a talk spurt: the
   * AI's first frame leaves the moment it arrives, with the marker bit (RFC 3551 §4.1), and the next frames follow
   * one per tick; sequence numbers and timestamps stay continuous on the one SSRC (RFC 3550 §5.1), and a packet is
   * never more than one period early, so the stream does not drift from its clock. Only when the queue is the
   * source the tick would pick.
   */
  private sendAhead(): void {
    if (this.closed || this.aheadSent || this.held || this.rfcDtmfSending > 0 || this.toneDtmf !== null || this.player !== null) return;
    if (this.peer && this.bridgeRing.size >= MEDIA_FRAME_SAMPLES) return;
    const q = this.queue;
    const avail = q.samples;
    if (avail < MEDIA_FRAME_SAMPLES && !(avail > 0 && q.hasMarkAfterAudio)) return;
    const frame = this.txAhead;
    const got = q.read(frame);
    if (got === 0) return;
    if (got < MEDIA_FRAME_SAMPLES) frame.fill(0, got);
    this.partialWaited = false;
    this.sendCodec.encodeInto(frame, this.txPayload);
    if (this.endpoint.sendFrame(this.txPayload, MEDIA_FRAME_SAMPLES, this.talking ? undefined : MARKER)) this.counters.framesSent++;
    this.talking = true;
    this.aheadSent = true;
    if (q.pendingMarks > 0) q.takeReachedMarks(this.onMarkReached);
  }

  /** Fill txFrame from the highest-priority source; returns the samples produced (0 = idle). */
  private produce(): number {
    if (this.rfcDtmfSending > 0) return 0;
    const frame = this.txFrame;
    const tone = this.toneDtmf;
    if (tone) {
      const n = tone.source.fill(frame);
      if (n < MEDIA_FRAME_SAMPLES || tone.source.ended) {
        this.toneDtmf = null;
        tone.resolve('finished');
      }
      if (n > 0) return n;
    }
    const player = this.player;
    if (player) {
      const n = player.source.fill(frame);
      if (n < MEDIA_FRAME_SAMPLES || player.source.ended) this.endPlayback('finished');
      if (n > 0) return n;
    }
    if (this.held) return 0;
    if (this.peer && this.bridgeRing.size >= MEDIA_FRAME_SAMPLES) return this.bridgeRing.read(frame);
    const q = this.queue;
    const avail = q.samples;
    if (avail >= MEDIA_FRAME_SAMPLES || (avail > 0 && (this.partialWaited || q.hasMarkAfterAudio))) {
      this.partialWaited = false;
      return q.read(frame);
    }
    // A partial frame waits one tick for the rest of the utterance before being padded with silence.
    if (avail > 0) this.partialWaited = true;
    return 0;
  }

  private endPlayback(result: PlayResult): void {
    const p = this.player;
    if (!p) return;
    this.player = null;
    p.resolve(result);
  }

  private readonly onMarkReached = (name: string): void => {
    this.safeEmit('markplayed', name);
  };

  /** Produce rxFrame from the jitter buffer; false when the peer's stream is not playing. */
  private receiveFrame(): boolean {
    const ring = this.ring;
    while (ring.size < MEDIA_FRAME_SAMPLES) {
      const r = this.jb.get(this.jbFrame);
      if (r === 'frame') {
        const f = this.jbFrame;
        const codec = this.rxCodecs[f.payloadType];
        if (!codec) continue;
        if (ring.size === 0 && f.payload.length === MEDIA_FRAME_SAMPLES) {
          // The common case, one 20 ms packet and nothing pending: decode straight into the frame, no re-chunking.
          codec.decodeInto(f.payload, this.rxFrame);
          this.lastPacket.set(this.rxFrame);
          this.lastPacketLen = MEDIA_FRAME_SAMPLES;
          this.concealRun = 0;
          this.counters.packetsDecoded++;
          return this.deliverFrame(false);
        }
        const n = codec.decodeInto(f.payload, this.decodeBuf);
        ring.write(this.decodeBuf, false, n);
        this.lastPacket.set(this.decodeBuf.subarray(0, n));
        this.lastPacketLen = n;
        this.concealRun = 0;
        this.counters.packetsDecoded++;
      } else if (r === 'lost') {
        this.conceal();
      } else {
        // Stream paused (silence suppression, hold, end): pad a partial frame so nothing stays stuck in the ring.
        if (ring.size === 0) return false;
        ring.writeSilence(MEDIA_FRAME_SAMPLES - ring.size, true);
      }
    }
    ring.read(this.rxFrame);
    return this.deliverFrame(ring.lastConcealed > 0);
  }

  /** rxFrame holds this tick's received audio: count it, detect DTMF, hand it to the bridge and to listeners. */
  private deliverFrame(concealed: boolean): true {
    this.counters.framesReceived++;
    if (concealed) this.counters.framesConcealed++;
    const pcm = this.rxFrame;
    this.detector?.process(pcm);
    const peer = this.peer;
    if (peer) peer.pushBridge(pcm);
    if (this.listenerCount('frame') > 0) this.safeEmit('frame', pcm, concealed);
    return true;
  }

  /**
   * Packet loss concealment: repeat the last packet's audio, 3 dB quieter for each further consecutive loss (after
   * ITU-T G.711 Appendix I's attenuation), silence when nothing was received yet.
   */
  private conceal(): void {
    const n = this.lastPacketLen > 0 ? this.lastPacketLen : MEDIA_FRAME_SAMPLES;
    this.concealRun++;
    if (this.lastPacketLen === 0) {
      this.ring.writeSilence(n, true);
      return;
    }
    const gain = Math.pow(0.7071, this.concealRun - 1);
    const src = this.lastPacket;
    const dst = this.decodeBuf;
    for (let i = 0; i < n; i++) dst[i] = Math.round(src[i] * gain);
    this.ring.write(dst, true, n);
  }

  /** A frame the bridged peer received, to be sent on this leg at the next tick. */
  private pushBridge(pcm: Int16Array): void {
    if (this.closed) return;
    const ring = this.bridgeRing;
    if (ring.size >= MEDIA_FRAME_SAMPLES * BRIDGE_MAX_FRAMES) {
      // The peer's frames pile up (its stall backlog): keep latency bounded by dropping the oldest.
      ring.skip(MEDIA_FRAME_SAMPLES);
      this.counters.bridgeDropped++;
    }
    ring.write(pcm, false);
  }

  private readonly onRtp = (pkt: RtpPacket, arrivalMs: number): void => {
    if (this.closed) return;
    const pt = pkt.payloadType;
    if (this.rxCodecs[pt] === undefined) {
      this.counters.unsupportedPayload++;
      // Its sequence number is not lost audio (e.g. comfort noise, RFC 3389).
      this.jb.skip(pkt.sequenceNumber);
      this.skipArrival(pkt.sequenceNumber);
      return;
    }
    const now = this.endpointClock ? arrivalMs : this.clock.now();
    this.jb.put(pkt.sequenceNumber, pkt.timestamp, pkt.payload, now, pt, pkt.marker);
    const rb = this.arrivalPath();
    if (rb) {
      rb.put(pkt.sequenceNumber, pkt.payload, now, pt);
      if (rb.deadline >= 0) this.armArrival(rb);
    }
  };

  /** RFC 4733 §2.1: events take sequence numbers of the audio stream; the jitter buffer must not conceal them. */
  private readonly onNonAudio = (pkt: RtpPacket): void => {
    if (this.closed) return;
    this.jb.skip(pkt.sequenceNumber);
    this.skipArrival(pkt.sequenceNumber);
  };

  // ---- the arrival path (`arrivalframe`) --------------------------------------------------------------------------

  /** The arrival path's buffer while `arrivalframe` has listeners; null (and forgotten state) otherwise. */
  private arrivalPath(): ReorderBuffer | null {
    if (this.listenerCount('arrivalframe') === 0) {
      if (this.arrival?.isStarted) {
        // Nobody listens: a later listener starts from the stream as it is then, not from a stale gap.
        this.arrival.reset();
        this.arrivalRing.clear();
        this.arrivalLastLen = 0;
      }
      return null;
    }
    return (this.arrival ??= new ReorderBuffer({ waitMs: this.arrivalWaitMs, onFrame: this.onArrivalFrame, onLost: this.onArrivalLost }));
  }

  private skipArrival(seq: number): void {
    const rb = this.arrivalPath();
    if (!rb) return;
    rb.skip(seq, this.clock.now());
    if (rb.deadline >= 0) this.armArrival(rb);
  }

  private armArrival(rb: ReorderBuffer): void {
    if (this.arrivalTimer !== undefined) return;
    this.arrivalTimer = this.clock.setTimeout(this.onArrivalTimer, Math.max(0, rb.deadline - this.clock.now()));
  }

  private readonly onArrivalTimer = (): void => {
    this.arrivalTimer = undefined;
    if (this.closed) return;
    // Timers run before the poll phase reads the sockets: after a stall of the event loop the missing packet may be
    // waiting there. setImmediate runs after that poll phase, so it is read before its gap is given up.
    setImmediate(this.expireArrival);
  };

  private readonly expireArrival = (): void => {
    const rb = this.arrival;
    if (this.closed || !rb) return;
    rb.expire(this.clock.now());
    if (rb.deadline >= 0) this.armArrival(rb);
  };

  private readonly onArrivalFrame = (payload: Uint8Array, payloadType: number): void => {
    const codec = this.rxCodecs[payloadType];
    if (!codec || this.closed) return;
    const ring = this.arrivalRing;
    if (ring.size === 0 && payload.length === MEDIA_FRAME_SAMPLES) {
      // The common case: one 20 ms packet, nothing pending: decode straight into the frame.
      codec.decodeInto(payload, this.arrivalFrame);
      this.arrivalLast.set(this.arrivalFrame);
      this.arrivalLastLen = MEDIA_FRAME_SAMPLES;
      this.emitArrival(false);
      return;
    }
    const n = codec.decodeInto(payload, this.arrivalDecode);
    this.arrivalLast.set(this.arrivalDecode.subarray(0, n));
    this.arrivalLastLen = n;
    ring.write(this.arrivalDecode, false, n);
    this.drainArrival();
  };

  /** Lost packets on the arrival path: conceal them like the clocked path (repeat, 3 dB quieter each time). */
  private readonly onArrivalLost = (count: number): void => {
    if (this.closed) return;
    const n = this.arrivalLastLen > 0 ? this.arrivalLastLen : MEDIA_FRAME_SAMPLES;
    const frames = Math.min(count, ARRIVAL_MAX_CONCEALED);
    const dst = this.arrivalDecode;
    for (let k = 0; k < frames; k++) {
      if (this.arrivalLastLen === 0) {
        this.arrivalRing.writeSilence(n, true);
      } else {
        const gain = Math.pow(0.7071, k);
        for (let i = 0; i < n; i++) dst[i] = Math.round(this.arrivalLast[i] * gain);
        this.arrivalRing.write(dst, true, n);
      }
      this.drainArrival();
    }
  };

  private drainArrival(): void {
    const ring = this.arrivalRing;
    while (ring.size >= MEDIA_FRAME_SAMPLES && !this.closed) {
      ring.read(this.arrivalFrame);
      this.emitArrival(ring.lastConcealed > 0);
    }
  }

  private emitArrival(concealed: boolean): void {
    this.arrivalCounters.frames++;
    if (concealed) this.arrivalCounters.concealed++;
    this.safeEmit('arrivalframe', this.arrivalFrame, concealed);
  }

  private readonly onRfc4733 = (ev: DtmfEvent): void => {
    if (this.closed) return;
    this.arbiter.rfc4733(ev.digit, ev.durationMs, this.clock.now());
  };

  private readonly onInband = (ev: DtmfDigitEvent): void => {
    if (this.closed) return;
    this.arbiter.inband(ev.digit, ev.durationMs, this.clock.now(), this.telephoneEventPt !== null);
  };

  private readonly onTimeout = (): void => {
    this.safeEmit('timeout');
  };

  private readonly onEndpointClose = (): void => {
    void this.close();
  };

  private setSendCodec(codec: G711Codec): void {
    this.sendCodec = codec;
    this.silencePayload.fill(codec.silenceCode);
  }

  private updateDetector(): void {
    const want = this.inbandMode === 'always' || (this.inbandMode === 'auto' && this.telephoneEventPt === null);
    if (want && !this.detector) this.detector = new GoertzelDtmfDetector({ onDigit: this.onInband });
    else if (!want) this.detector = null;
  }

  private assertOpen(): void {
    if (this.closed) throw new InvalidStateError('MediaSession is closed');
  }
}
