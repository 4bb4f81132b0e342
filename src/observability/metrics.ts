import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics. Other layers never import prom-client: they receive the small interfaces below
 * (`SipMetrics`, `RtpMetrics`, ...) and call plain methods. Label values that come from the network
 * (SIP methods, status codes) are folded into fixed sets so a hostile peer cannot explode cardinality.
 */

export type Direction = 'in' | 'out';
export type SipTransportLabel = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';
/** Why a SIP message was discarded without a response. */
export type SipDropReason = 'flood' | 'acl' | 'parse' | 'too_large' | 'loop' | 'overload' | 'blocked';
export type RtpDropReason = 'malformed' | 'unexpected_source' | 'unknown_payload' | 'late' | 'duplicate' | 'overflow';
export type CallDirection = 'inbound' | 'outbound';
export type CallFinalState = 'completed' | 'failed' | 'busy' | 'no_answer' | 'cancelled' | 'rejected';
export type BridgeConnectResult = 'ok' | 'failed' | 'timeout' | 'rejected';
export type SmsStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'received';

/** A value read when Prometheus scrapes (sizes of maps owned by other layers). */
export type GaugeSource = () => number;

export interface SipMetrics {
  /** Count a request (`status` undefined) or a response with its status code, sent or received. */
  message(direction: Direction, method: string, status?: number): void;
  /** A message that failed to parse (it may still get a 400; `dropped('parse')` counts the silent drops). */
  parseError(transport: SipTransportLabel): void;
  dropped(reason: SipDropReason): void;
  setTransactionsSource(source: GaugeSource): void;
  setDialogsSource(source: GaugeSource): void;
  /** A new request refused with 503 because the server is overloaded (RFC 3261 §21.5.4). */
  overloadRejected(method: string): void;
  /** 1 while the overload detector refuses new calls, else 0; and its smoothed event-loop lag in ms. */
  setOverloadSource(overloaded: GaugeSource, lagMs: GaugeSource): void;
}

export interface RtpMetrics {
  /** Add to the received packet count (call per packet or per batch). */
  packetsIn(count?: number): void;
  packetsOut(count?: number): void;
  /** Packets lost as computed by RFC 3550 §6.4.1 (expected - received) since the last report. */
  packetsLost(count: number): void;
  dropped(reason: RtpDropReason): void;
  /** Interarrival jitter (RFC 3550 §6.4.1) in seconds, observed per report interval or per session end. */
  jitter(seconds: number): void;
  setSessionsSource(source: GaugeSource): void;
  setPortsInUseSource(source: GaugeSource): void;
}

export interface CallMetrics {
  started(direction: CallDirection): void;
  ended(direction: CallDirection, state: CallFinalState): void;
  /** INVITE to final answer, in seconds. */
  setupSeconds(direction: CallDirection, seconds: number): void;
  /** Answer to hang-up, in seconds (answered calls only). */
  durationSeconds(direction: CallDirection, seconds: number): void;
  setActiveSource(source: GaugeSource): void;
}

export interface BridgeMetrics {
  connectAttempt(result: BridgeConnectResult): void;
  reconnect(): void;
  /** Time from caller audio captured to the AI's audio queued for the caller, in seconds. */
  audioLatency(seconds: number): void;
  /** Frames from the AI discarded (invalid, over queue bound, after clear). */
  framesDropped(count?: number): void;
  setConnectionsSource(source: GaugeSource): void;
}

export interface SmsMetrics {
  message(direction: Direction, status: SmsStatus): void;
  setQueueDepthSource(source: GaugeSource): void;
}

export interface TrunkMetrics {
  /** Trunk health as seen by OPTIONS/REGISTER: 1 up, 0 down. */
  setUp(trunkId: string, up: boolean): void;
  /** Forget a deleted trunk so its series disappears. */
  remove(trunkId: string): void;
}

export interface HttpMetrics {
  /** `route` must be the route template (`/api/calls/:id`), never the raw path, to bound cardinality. */
  request(method: string, route: string, status: number, seconds: number): void;
}

export interface Metrics {
  readonly sip: SipMetrics;
  readonly rtp: RtpMetrics;
  readonly calls: CallMetrics;
  readonly bridge: BridgeMetrics;
  readonly sms: SmsMetrics;
  readonly trunks: TrunkMetrics;
  readonly http: HttpMetrics;
  /** Prometheus text exposition of every metric. */
  render(): Promise<string>;
  /** Value for the Content-Type header of `render()` output. */
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Prepended to every metric name of ours (not to process metrics). Default none. */
  prefix?: string;
  /** Process metrics (CPU, memory, GC, handles) and event-loop lag. Default true. */
  processMetrics?: boolean;
  /** Labels added to every series (e.g. `{ instance_id }` when several instances share a target). */
  defaultLabels?: Record<string, string>;
}

/** RFC 3261 §27.4 registered methods we see in practice; anything else is counted as OTHER. */
export const SIP_METHOD_LABELS = [
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE', 'OTHER',
] as const;
const METHOD_INDEX = new Map<string, number>(SIP_METHOD_LABELS.map((m, i) => [m, i]));
const OTHER_METHOD = SIP_METHOD_LABELS.length - 1;
const STATUS_CLASSES = ['request', '1xx', '2xx', '3xx', '4xx', '5xx', '6xx', 'other'] as const;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function statusClassIndex(status: number | undefined): number {
  if (status === undefined) return 0;
  const cls = Math.floor(status / 100);
  return cls >= 1 && cls <= 6 ? cls : 7;
}

/** A gauge whose value is read from a callback at scrape time; a failing callback leaves the last value. */
function sourcedGauge(registry: Registry, name: string, help: string): (source: GaugeSource) => void {
  let source: GaugeSource | undefined;
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      if (!source) return;
      try {
        const v = source();
        if (Number.isFinite(v)) this.set(v);
      } catch {
        // A scrape must never fail because one subsystem is shutting down.
      }
    },
  });
  return (s) => {
    source = s;
  };
}

interface Inc {
  inc(value?: number): void;
}

/** Build a registry with every metric of the server. Each call returns an independent registry. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const p = options.prefix ?? '';
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const r = [registry];

  // --- SIP
  const sipMessages = new Counter({
    name: `${p}sip_messages_total`,
    help: 'SIP messages by method, direction and status class (request for requests).',
    labelNames: ['method', 'direction', 'status_class'] as const,
    registers: r,
  });
  // Bound children cached per (method, direction, class): no label hashing on the signalling hot path.
  const sipChildren: (Inc | undefined)[] = new Array(SIP_METHOD_LABELS.length * 2 * STATUS_CLASSES.length);
  const sipParseErrors = new Counter({
    name: `${p}sip_parse_errors_total`,
    help: 'SIP messages that failed to parse, by transport.',
    labelNames: ['transport'] as const,
    registers: r,
  });
  const sipDropped = new Counter({
    name: `${p}sip_dropped_total`,
    help: 'SIP messages discarded without a response, by reason.',
    labelNames: ['reason'] as const,
    registers: r,
  });
  const sipOverloadRejected = new Counter({
    name: `${p}sip_overload_rejected_total`,
    help: 'New requests (initial INVITE, OPTIONS) answered 503 because the server was overloaded, by method.',
    labelNames: ['method'] as const,
    registers: r,
  });
  const setOverloaded = sourcedGauge(registry, `${p}sip_overloaded`, 'Whether new calls are being refused with 503 for overload (1) or not (0).');
  const setOverloadLag = sourcedGauge(registry, `${p}sip_overload_lag_seconds`, 'Smoothed event-loop lag the overload detector decides on.');
  const sip: SipMetrics = {
    message(direction, method, status) {
      const m = METHOD_INDEX.get(method) ?? OTHER_METHOD;
      const idx = (m * 2 + (direction === 'in' ? 0 : 1)) * STATUS_CLASSES.length + statusClassIndex(status);
      let child = sipChildren[idx];
      if (!child) {
        child = sipMessages.labels(SIP_METHOD_LABELS[m], direction, STATUS_CLASSES[statusClassIndex(status)]);
        sipChildren[idx] = child;
      }
      child.inc();
    },
    parseError: (transport) => sipParseErrors.inc({ transport }),
    dropped: (reason) => sipDropped.inc({ reason }),
    setTransactionsSource: sourcedGauge(registry, `${p}sip_transactions_active`, 'SIP transactions in memory.'),
    setDialogsSource: sourcedGauge(registry, `${p}sip_dialogs_active`, 'SIP dialogs in memory.'),
    overloadRejected: (method) => sipOverloadRejected.inc({ method: METHOD_INDEX.has(method) ? method : 'OTHER' }),
    setOverloadSource(overloaded, lagMs) {
      setOverloaded(overloaded);
      setOverloadLag(() => lagMs() / 1000);
    },
  };

  // --- RTP
  const rtpPackets = new Counter({
    name: `${p}rtp_packets_total`,
    help: 'RTP packets received (in) and sent (out).',
    labelNames: ['direction'] as const,
    registers: r,
  });
  const rtpIn = rtpPackets.labels('in');
  const rtpOut = rtpPackets.labels('out');
  const rtpLost = new Counter({ name: `${p}rtp_packets_lost_total`, help: 'RTP packets lost (RFC 3550 expected minus received).', registers: r });
  const rtpDropped = new Counter({
    name: `${p}rtp_dropped_total`,
    help: 'RTP/RTCP packets discarded, by reason.',
    labelNames: ['reason'] as const,
    registers: r,
  });
  const rtpJitter = new Histogram({
    name: `${p}rtp_jitter_seconds`,
    help: 'RTP interarrival jitter (RFC 3550 §6.4.1).',
    buckets: [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
    registers: r,
  });
  const rtp: RtpMetrics = {
    packetsIn: (count = 1) => rtpIn.inc(count),
    packetsOut: (count = 1) => rtpOut.inc(count),
    packetsLost: (count) => {
      if (count > 0) rtpLost.inc(count);
    },
    dropped: (reason) => rtpDropped.inc({ reason }),
    jitter: (seconds) => rtpJitter.observe(seconds),
    setSessionsSource: sourcedGauge(registry, `${p}media_sessions_active`, 'Media sessions (call legs with RTP) in memory.'),
    setPortsInUseSource: sourcedGauge(registry, `${p}rtp_ports_in_use`, 'RTP/RTCP port pairs allocated from the pool.'),
  };

  // --- Calls
  const callsStarted = new Counter({
    name: `${p}calls_started_total`,
    help: 'Calls started, by direction.',
    labelNames: ['direction'] as const,
    registers: r,
  });
  const callsEnded = new Counter({
    name: `${p}calls_total`,
    help: 'Calls ended, by direction and final state.',
    labelNames: ['direction', 'state'] as const,
    registers: r,
  });
  const callSetup = new Histogram({
    name: `${p}call_setup_seconds`,
    help: 'Time from INVITE to final answer.',
    labelNames: ['direction'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: r,
  });
  const callDuration = new Histogram({
    name: `${p}call_duration_seconds`,
    help: 'Duration of answered calls.',
    labelNames: ['direction'] as const,
    buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: r,
  });
  const calls: CallMetrics = {
    started: (direction) => callsStarted.inc({ direction }),
    ended: (direction, state) => callsEnded.inc({ direction, state }),
    setupSeconds: (direction, seconds) => callSetup.observe({ direction }, seconds),
    durationSeconds: (direction, seconds) => callDuration.observe({ direction }, seconds),
    setActiveSource: sourcedGauge(registry, `${p}calls_active`, 'Calls in progress on this instance.'),
  };

  // --- AI bridge
  const bridgeConnects = new Counter({
    name: `${p}bridge_connect_total`,
    help: 'Connection attempts to the AI platform, by result.',
    labelNames: ['result'] as const,
    registers: r,
  });
  const bridgeReconnects = new Counter({ name: `${p}bridge_reconnects_total`, help: 'Reconnections to the AI platform during calls.', registers: r });
  const bridgeLatency = new Histogram({
    name: `${p}bridge_audio_latency_seconds`,
    help: 'Caller audio to AI audio queued for the caller.',
    buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2],
    registers: r,
  });
  const bridgeDropped = new Counter({ name: `${p}bridge_frames_dropped_total`, help: 'Audio frames from the AI discarded.', registers: r });
  const bridge: BridgeMetrics = {
    connectAttempt: (result) => bridgeConnects.inc({ result }),
    reconnect: () => bridgeReconnects.inc(),
    audioLatency: (seconds) => bridgeLatency.observe(seconds),
    framesDropped: (count = 1) => bridgeDropped.inc(count),
    setConnectionsSource: sourcedGauge(registry, `${p}bridge_connections_active`, 'Open WebSocket connections to the AI platform.'),
  };

  // --- SMS
  const smsMessages = new Counter({
    name: `${p}sms_messages_total`,
    help: 'SMS messages by direction and status.',
    labelNames: ['direction', 'status'] as const,
    registers: r,
  });
  const sms: SmsMetrics = {
    message: (direction, status) => smsMessages.inc({ direction, status }),
    setQueueDepthSource: sourcedGauge(registry, `${p}sms_queue_depth`, 'SMS messages waiting to be sent.'),
  };

  // --- Trunks
  const trunkUp = new Gauge({
    name: `${p}trunk_up`,
    help: 'Trunk reachable (1) or not (0), by trunk id.',
    labelNames: ['trunk'] as const,
    registers: r,
  });
  const trunkChanges = new Counter({
    name: `${p}trunk_state_changes_total`,
    help: 'Trunk up/down transitions.',
    labelNames: ['trunk', 'state'] as const,
    registers: r,
  });
  const trunkState = new Map<string, boolean>();
  const trunks: TrunkMetrics = {
    setUp(trunkId, up) {
      if (trunkState.get(trunkId) !== up) trunkChanges.inc({ trunk: trunkId, state: up ? 'up' : 'down' });
      trunkState.set(trunkId, up);
      trunkUp.set({ trunk: trunkId }, up ? 1 : 0);
    },
    remove(trunkId) {
      trunkState.delete(trunkId);
      trunkUp.remove({ trunk: trunkId });
      trunkChanges.remove({ trunk: trunkId, state: 'up' });
      trunkChanges.remove({ trunk: trunkId, state: 'down' });
    },
  };

  // --- HTTP
  const httpRequests = new Counter({
    name: `${p}http_requests_total`,
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: r,
  });
  const httpDuration = new Histogram({
    name: `${p}http_request_duration_seconds`,
    help: 'HTTP request duration by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: r,
  });
  const http: HttpMetrics = {
    request(method, route, status, seconds) {
      const m = method.toUpperCase();
      const labels = { method: HTTP_METHODS.has(m) ? m : 'OTHER', route };
      httpRequests.inc({ ...labels, status: String(status >= 100 && status <= 599 ? status : 0) });
      httpDuration.observe(labels, seconds);
    },
  };

  return {
    sip,
    rtp,
    calls,
    bridge,
    sms,
    trunks,
    http,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
