import { Clock, systemClock } from '../util';
import type { BridgeCallPort } from './bridge-call-port';
import { BridgeLogger, BridgeSessionMetrics, silentBridgeLogger } from './bridge-metrics';
import { BridgeSession, BridgeSessionOptions, BridgeStartResult } from './bridge-session';
import { AI_PROTOCOL_NAMES, AiProtocolName } from './protocol-codec';
import type { TwilioCodecOptions } from './twilio-codec';

/** Process-wide AI settings (config `ai`: AI_PLATFORM_URL, AI_PLATFORM_TOKEN, AI_PROTOCOL, timeouts). */
export interface AiBridgeConfig {
  /** Default AI platform URL; a number may override it. Undefined = only numbers with their own URL use the AI. */
  platformUrl: string | undefined;
  token: string | undefined;
  protocol: AiProtocolName;
  connectTimeoutMs: number;
  /** AI_RECONNECT_S. */
  reconnectS: number;
  /** Headers sent on every handshake. */
  headers?: Readonly<Record<string, string>>;
  /** Per-session tuning (buffers, ping, TLS); see BridgeSessionOptions. */
  session?: Pick<BridgeSessionOptions, 'pendingFrames' | 'maxBufferedBytes' | 'maxMessageBytes' | 'pingIntervalMs' | 'reconnectBackoff' | 'tls'>;
  twilio?: Pick<TwilioCodecOptions, 'accountSid'>;
}

/** Per-number overrides (the number's AI route). */
export interface AiRouteOverrides {
  url?: string;
  token?: string;
  protocol?: AiProtocolName;
  /** 16000 or 24000 for a wideband AI (native, jambonz). */
  sampleRate?: number;
  headers?: Readonly<Record<string, string>>;
}

export interface AiBridgeDeps {
  clock?: Clock;
  metrics?: BridgeSessionMetrics;
  logger?: BridgeLogger;
}

/**
 * Builds one BridgeSession per call routed to the AI, from the process config and the number's overrides, and
 * keeps track of live sessions (Map keyed by Call-ID) for metrics and graceful shutdown.
 */
export class AiBridge {
  private readonly sessions = new Map<string, BridgeSession>();
  private readonly clock: Clock;
  private readonly metrics: BridgeSessionMetrics;
  private readonly logger: BridgeLogger;

  constructor(
    private readonly config: AiBridgeConfig,
    deps: AiBridgeDeps = {},
  ) {
    if (!AI_PROTOCOL_NAMES.includes(config.protocol)) throw new TypeError(`unknown AI protocol ${String(config.protocol)}`);
    this.clock = deps.clock ?? systemClock;
    this.metrics = deps.metrics ?? {};
    this.logger = deps.logger ?? silentBridgeLogger;
  }

  /** Live sessions (connecting, open or reconnecting). */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Sessions with an open socket (the bridge_connections_active gauge). */
  get openConnections(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.connected) n++;
    return n;
  }

  /** The live session of a call, if any. */
  get(callId: string): BridgeSession | undefined {
    return this.sessions.get(callId);
  }

  /** True when a call on a number with these overrides can be bridged (a URL is configured somewhere). */
  canBridge(overrides: AiRouteOverrides = {}): boolean {
    return (overrides.url ?? this.config.platformUrl) !== undefined;
  }

  /**
   * Create (not start) the session of a call. Throws TypeError when no URL is configured for it, the options are
   * invalid, or the call already has a session (one session per Call-ID).
   */
  createSession(port: BridgeCallPort, overrides: AiRouteOverrides = {}): BridgeSession {
    const url = overrides.url ?? this.config.platformUrl;
    if (url === undefined) throw new TypeError('no AI platform URL configured (AI_PLATFORM_URL or the number\'s override)');
    const callId = port.info.callId;
    if (this.sessions.has(callId)) throw new TypeError(`an AI session already exists for call ${callId}`);
    const session = new BridgeSession(port, {
      ...this.config.session,
      url,
      token: overrides.token ?? this.config.token,
      headers: { ...this.config.headers, ...overrides.headers },
      protocol: overrides.protocol ?? this.config.protocol,
      sampleRate: overrides.sampleRate,
      connectTimeoutMs: this.config.connectTimeoutMs,
      reconnectWindowMs: this.config.reconnectS * 1000,
      twilio: this.config.twilio,
      clock: this.clock,
      metrics: this.metrics,
      logger: this.logger,
    });
    this.sessions.set(callId, session);
    session.once('close', () => {
      if (this.sessions.get(callId) === session) this.sessions.delete(callId);
    });
    return session;
  }

  /** Create and start a session: resolves with the session and whether the AI answered (else run the fallback). */
  async connect(port: BridgeCallPort, overrides: AiRouteOverrides = {}): Promise<{ session: BridgeSession; result: BridgeStartResult }> {
    const session = this.createSession(port, overrides);
    const result = await session.start();
    return { session, result };
  }

  /** End every session (shutdown). */
  async closeAll(reason = 'shutdown'): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.end(reason)));
  }
}
