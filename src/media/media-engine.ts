import type { RtpPortPool } from '../rtp';
import { Clock, InvalidStateError, systemClock } from '../util';
import { MediaSession, type MediaSessionOptions } from './media-session';
import { MediaTicker } from './media-ticker';
import { WavCache } from './wav-cache';

export interface MediaEngineOptions {
  /** RTP/RTCP ports (RTP_PORT_MIN..RTP_PORT_MAX). */
  pool: RtpPortPool;
  clock?: Clock;
  /** Default media timeout of new sessions, ms (RTP_TIMEOUT_S); 0 disables. */
  mediaTimeoutMs?: number;
  /** RTCP report interval, ms (default 5000). */
  rtcpIntervalMs?: number;
  /** Defaults for every session (jitter buffer, in-band DTMF mode, idle silence...). */
  session?: Omit<MediaSessionOptions, 'ticker' | 'clock' | 'wavCache'>;
  /** Bytes of decoded prompts kept in memory (default 64 MiB). */
  wavCacheBytes?: number;
}

export interface OpenMediaOptions {
  /** RFC 5761: RTP and RTCP on one port. */
  rtcpMux?: boolean;
  /** Overrides the engine's media timeout for this leg. */
  mediaTimeoutMs?: number;
  /** Overrides the engine's session defaults for this leg. */
  session?: Omit<MediaSessionOptions, 'ticker' | 'clock' | 'wavCache'>;
}

/**
 * Creates the media sessions of this instance: owns the shared 20 ms {@link MediaTicker} (one timer for every leg)
 * and the decoded-prompt cache, and opens each session's endpoint from the RTP port pool. Tracks the open sessions
 * so shutdown can close them all.
 */
export class MediaEngine {
  readonly pool: RtpPortPool;
  readonly ticker: MediaTicker;
  readonly wavCache: WavCache;
  private readonly clock: Clock;
  private readonly opts: MediaEngineOptions;
  private readonly live = new Set<MediaSession>();
  private closed = false;

  constructor(opts: MediaEngineOptions) {
    this.opts = opts;
    this.pool = opts.pool;
    this.clock = opts.clock ?? systemClock;
    this.ticker = new MediaTicker({ clock: this.clock });
    this.wavCache = new WavCache(opts.wavCacheBytes);
  }

  /** Sessions open now. */
  get count(): number {
    return this.live.size;
  }

  /** The open sessions. */
  sessions(): IterableIterator<MediaSession> {
    return this.live.values();
  }

  /**
   * Open a session on a fresh port pair. Rejects with ResourceExhaustedError('RTP_PORTS_EXHAUSTED') when the pool is
   * empty, InvalidStateError after close().
   */
  async open(opts: OpenMediaOptions = {}): Promise<MediaSession> {
    if (this.closed) throw new InvalidStateError('MediaEngine is closed');
    const session = await MediaSession.open(
      {
        pool: this.pool,
        clock: this.clock,
        rtcpMux: opts.rtcpMux,
        mediaTimeoutMs: opts.mediaTimeoutMs ?? this.opts.mediaTimeoutMs ?? 0,
        rtcpIntervalMs: this.opts.rtcpIntervalMs,
      },
      { ...this.opts.session, ...opts.session, ticker: this.ticker, clock: this.clock, wavCache: this.wavCache },
    );
    if (this.closed) {
      // close() ran while the ports were being bound.
      await session.close();
      throw new InvalidStateError('MediaEngine is closed');
    }
    this.live.add(session);
    session.once('closed', () => this.live.delete(session));
    return session;
  }

  /** Close every open session (recordings are finished). */
  async closeAll(): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  /** Close every session and stop the clock; open() is refused afterwards. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeAll();
    this.ticker.close();
  }
}
