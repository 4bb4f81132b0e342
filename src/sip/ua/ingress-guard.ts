import { BlockList, isIP } from 'node:net';
import type { Clock } from '../../util';
import { silentLogger, type UaLogger } from './types';

/** An allowed address block; structurally the `CidrBlock` of config (`10.0.0.0/8`, `2001:db8::/32`). */
export interface IngressCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

export interface IngressGuardOptions {
  clock: Clock;
  /** Sources allowed to send SIP requests (SIP_ALLOWED_CIDRS). Empty = any source. */
  allowedCidrs?: readonly IngressCidr[];
  /** Requests per window from one source above which it is banned (SIP_FLOOD_MAX_REQUESTS). 0 = detector off. */
  floodMaxRequests?: number;
  /** Window of the flood detector (ms). Default 2000 (Kamailio pike's sampling_time_unit default). */
  floodWindowMs?: number;
  /** How long a flooding source is ignored (ms). Default 60000. */
  banMs?: number;
  /** Sources tracked at once by the flood detector; the oldest is forgotten beyond this. Default 65536. */
  maxTrackedSources?: number;
  /** Bans held at once; the oldest ban is lifted early beyond this. Default 16384. */
  maxBans?: number;
  /** One warning per ban, never one line per dropped packet. */
  logger?: UaLogger;
}

/**
 * What the receive path does with a message:
 * - `accept`: process it;
 * - `deny`: a request from a source outside the allow-list; answer 403 when a response can be sent (never to
 *   an ACK: RFC 3261 §17.1.1.3 ACKs are not answered), otherwise drop;
 * - `drop`: discard silently (a banned flooding source). Answering a flood would amplify it.
 */
export type IngressVerdict = 'accept' | 'deny' | 'drop';

/** Running totals of the guard's decisions; the metrics layer reads them (sip_dropped_total{reason}). */
export interface IngressGuardCounters {
  accepted: number;
  /** Requests refused by the allow-list. */
  denied: number;
  /** Messages discarded because their source is banned for flooding. */
  floodDropped: number;
  /** Bans started since start-up. */
  bans: number;
}

/** A source currently banned, for the status endpoint and logs. */
export interface IngressBan {
  readonly address: string;
  /** Monotonic clock time (ms) at which the ban ends. */
  readonly until: number;
}

interface SourceWindow {
  /** Start (clock ms) of the current window. */
  windowStart: number;
  current: number;
  previous: number;
}

const DEFAULT_WINDOW_MS = 2000;
const DEFAULT_BAN_MS = 60_000;
const DEFAULT_MAX_TRACKED = 65_536;
const DEFAULT_MAX_BANS = 16_384;
const MAPPED_V4_PREFIX = '::ffff:';

/**
 * Admission control in front of the SIP stack, before any parsing state is created: a source allow-list
 * (trunk provider ranges) and a per-source flood detector in the manner of Kamailio's pike module.
 *
 * The detector keeps, per source IP, the request counts of the current and the previous window and
 * estimates the rate over a sliding window as `previous * (1 - elapsed/window) + current`: two integers
 * per source, no timestamps list, no timer. A source whose estimate exceeds the threshold is banned for
 * `banMs`; everything it sends meanwhile is dropped and counted, and the ban is logged once when it starts.
 *
 * Responses are not checked against the allow-list: they only take effect when they match one of our
 * own client transactions (RFC 3261 §17.1.3), and calls we place or forward may reach hosts outside the
 * trunk ranges. They are dropped while their source is banned, and do not count towards the flood rate.
 *
 * Both maps are bounded, so a flood of spoofed UDP sources costs bounded memory; bans live in their own
 * map so such a flood cannot push a banned source out. Pure: no I/O, time from the injected clock.
 */
export class IngressGuard {
  readonly counters: IngressGuardCounters = { accepted: 0, denied: 0, floodDropped: 0, bans: 0 };
  private readonly clock: Clock;
  private readonly allowList: BlockList | undefined;
  private readonly maxRequests: number;
  private readonly windowMs: number;
  private readonly banMs: number;
  private readonly maxTracked: number;
  private readonly maxBans: number;
  private readonly logger: UaLogger;
  private readonly windows = new Map<string, SourceWindow>();
  private readonly bans = new Map<string, number>();

  constructor(options: IngressGuardOptions) {
    this.clock = options.clock;
    const cidrs = options.allowedCidrs ?? [];
    if (cidrs.length > 0) {
      const list = new BlockList();
      for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
      this.allowList = list;
    }
    this.maxRequests = positiveOr(options.floodMaxRequests, 0);
    this.windowMs = positiveOr(options.floodWindowMs, DEFAULT_WINDOW_MS) || DEFAULT_WINDOW_MS;
    this.banMs = positiveOr(options.banMs, DEFAULT_BAN_MS) || DEFAULT_BAN_MS;
    this.maxTracked = positiveOr(options.maxTrackedSources, DEFAULT_MAX_TRACKED) || DEFAULT_MAX_TRACKED;
    this.maxBans = positiveOr(options.maxBans, DEFAULT_MAX_BANS) || DEFAULT_MAX_BANS;
    this.logger = options.logger ?? silentLogger;
  }

  /** True when the flood detector is on. */
  get floodDetection(): boolean {
    return this.maxRequests > 0;
  }

  /** True when an allow-list is configured. */
  get restricted(): boolean {
    return this.allowList !== undefined;
  }

  /**
   * Decide on one message from `sourceAddress` (the packet's or connection's IP, not anything the message
   * claims, such as Via). `isRequest` is false for responses. Never throws: unparseable addresses are
   * outside every allow-list.
   */
  check(sourceAddress: string, isRequest: boolean): IngressVerdict {
    const address = normalise(sourceAddress);
    if (this.bans.size > 0 && this.isBanned(address)) {
      this.counters.floodDropped++;
      return 'drop';
    }
    if (!isRequest) {
      this.counters.accepted++;
      return 'accept';
    }
    if (this.allowList !== undefined && !this.allowed(address)) {
      // Refused sources are not tracked by the flood detector: their requests already cost only a 403.
      this.counters.denied++;
      return 'deny';
    }
    if (this.maxRequests > 0 && this.countRequest(address)) {
      this.ban(address);
      this.counters.floodDropped++;
      return 'drop';
    }
    this.counters.accepted++;
    return 'accept';
  }

  /** Sources banned right now. */
  activeBans(): IngressBan[] {
    const now = this.clock.now();
    const out: IngressBan[] = [];
    for (const [address, until] of this.bans) if (until > now) out.push({ address, until });
    return out;
  }

  /** Lift a ban by hand (operator action); true when there was one. */
  unban(sourceAddress: string): boolean {
    const address = normalise(sourceAddress);
    this.windows.delete(address);
    return this.bans.delete(address);
  }

  /** Sources the flood detector currently tracks (bounded by maxTrackedSources). */
  get trackedSources(): number {
    return this.windows.size;
  }

  private allowed(address: string): boolean {
    const family = isIP(address);
    if (family === 0 || this.allowList === undefined) return false;
    return this.allowList.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  private isBanned(address: string): boolean {
    const until = this.bans.get(address);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    // The ban is over: the source starts again from a clean window.
    this.bans.delete(address);
    this.windows.delete(address);
    return false;
  }

  /** Count one request; true when the source's sliding-window rate now exceeds the threshold. */
  private countRequest(address: string): boolean {
    const now = this.clock.now();
    let w = this.windows.get(address);
    if (w === undefined) {
      if (this.windows.size >= this.maxTracked) {
        // Map iteration order is insertion order: the first key is the least recently (re)inserted source.
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { windowStart: now, current: 0, previous: 0 };
      this.windows.set(address, w);
    } else if (now - w.windowStart >= this.windowMs) {
      const windowsPassed = Math.floor((now - w.windowStart) / this.windowMs);
      w.previous = windowsPassed === 1 ? w.current : 0;
      w.current = 0;
      w.windowStart += windowsPassed * this.windowMs;
      // Re-insert so the eviction order follows activity, not first sight.
      this.windows.delete(address);
      this.windows.set(address, w);
    }
    w.current++;
    const elapsed = (now - w.windowStart) / this.windowMs;
    const estimate = w.previous * (1 - elapsed) + w.current;
    return estimate > this.maxRequests;
  }

  private ban(address: string): void {
    if (this.bans.size >= this.maxBans) {
      const oldest = this.bans.keys().next().value;
      if (oldest !== undefined) this.bans.delete(oldest);
    }
    const until = this.clock.now() + this.banMs;
    this.bans.set(address, until);
    this.windows.delete(address);
    this.counters.bans++;
    this.logger.warn(
      { source: address, maxRequests: this.maxRequests, windowMs: this.windowMs, banMs: this.banMs },
      'SIP flood detected: source banned',
    );
  }
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

/** `::ffff:192.0.2.1` from a dual-stack socket is the IPv4 source 192.0.2.1: one key, one allow-list rule. */
function normalise(address: string): string {
  if (address.length > MAPPED_V4_PREFIX.length && address.startsWith(MAPPED_V4_PREFIX)) {
    const v4 = address.slice(MAPPED_V4_PREFIX.length);
    if (isIP(v4) === 4) return v4;
  }
  return address;
}
