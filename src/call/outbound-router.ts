import type { DigestCredentials } from '../sip/auth';
import type { SipRequest } from '../sip/message';
import type { SipTarget } from '../sip/ua';
import type { JsonObject, JsonValue } from './json';

// The trunk services call control needs, as interfaces it owns (DESIGN.md: `call` depends on interfaces, the wiring
// hands in the implementation). The trunk registry of src/trunks satisfies all of them structurally.

/** A trunk as call control sees it. */
export interface RouterTrunk {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly supportsOutbound: boolean;
}

/** One trunk to try for an outbound call. */
export interface OutboundRoute {
  readonly trunk: RouterTrunk;
  /** The number after the trunk's strip/prefix rules. */
  readonly dialString: string;
  /** Request-URI (and To) of the INVITE: sip:<dialString>@<proxy>[:port][;transport=...]. */
  readonly requestUri: string;
  /** The proxy to send to; undefined = resolve the Request-URI. */
  readonly target: SipTarget | undefined;
  /** Answers the trunk's 401/407 (RFC 3261 §22.2). */
  readonly credentials: DigestCredentials | undefined;
  /** Host of our From URI toward this trunk. */
  readonly fromDomain: string;
  /** Caller ID presented when the call has none of its own. */
  readonly callerId: string | null;
}

/** A held channel of a trunk (its max concurrent calls). `release()` is idempotent. */
export interface OutboundChannel {
  readonly trunkId: string;
  release(): void;
}

/** How an attempt through a trunk ended: a final status, or no answer at all. */
export type TrunkAttemptOutcome = number | 'timeout';

/** Outbound route choice with failover and channel accounting. */
export interface OutboundRouter {
  /** Trunks to try for `number`, in failover order; down trunks and full ones are left out. */
  chooseTrunks(number: string, opts?: { readonly trunkId?: string }): OutboundRoute[];
  /** A channel on the trunk, or undefined when it is at its limit. */
  acquire(trunkId: string): OutboundChannel | undefined;
  /** Feed the trunk's health with the result of an attempt. */
  reportResult(trunkId: string, result: TrunkAttemptOutcome): void;
  /** Whether a failed attempt goes on to the next trunk (408, 5xx, timeout) or ends the call (486, 404...). */
  shouldFailover(result: TrunkAttemptOutcome): boolean;
  /** Every loaded trunk (to tell "no trunks at all" from "no trunk available now"). */
  list(): readonly RouterTrunk[];
}

/** The inbound decision for a request's source address. */
export type InboundDecision =
  | { readonly kind: 'trunk'; readonly trunk: { readonly id: string; readonly name: string } }
  | { readonly kind: 'open' }
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string };

/** Inbound identification of trunks by source address. */
export interface InboundPolicy {
  /** The trunk `address` belongs to, if any (not counted). */
  identify(address: string): { readonly id: string; readonly name: string } | undefined;
  /**
   * The counted decision for a new INVITE from `address`; `toOurNumber` is false for calls the policy does not
   * govern (the test number, registered users).
   */
  checkInbound(address: string, toOurNumber?: boolean): InboundDecision;
  /**
   * Whether a request from `address` must first prove itself a trunk by digest (no trunk's address matches it, open
   * inbound is off, and some trunk has credentials). Not counted. Absent: addresses only.
   */
  wantsDigest?(address: string): boolean;
  /** The counted digest decision for such a request to one of our numbers (RFC 3261 §22.3). */
  authenticate?(request: SipRequest): InboundAuthDecision;
}

/** The digest step's decision (issue 7: "passes digest auth as that trunk"). */
export type InboundAuthDecision =
  | { readonly kind: 'trunk'; readonly trunk: { readonly id: string; readonly name: string } }
  /** Answer the INVITE with this challenge (407 and its Proxy-Authenticate headers); the retry is a new INVITE. */
  | { readonly kind: 'challenge'; readonly status: number; readonly reason: string; readonly headers: readonly (readonly [string, string])[] }
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string };

/** A registered contact of a local user (the registrar's RegisteredContact satisfies it). */
export interface LocalContact {
  /** The Contact URI: the Request-URI of the INVITE to it. */
  readonly uri: string;
  /** Where the REGISTER came from (RFC 3581: the NAT pinhole), or the connection it holds. */
  readonly target: SipTarget;
}

/** The location service of the registrar (RFC 3261 §10.3): contacts of a user of our domain. */
export interface LocalUserLocator {
  lookup(user: string): Promise<readonly LocalContact[]>;
  /** The address of record of the user (the To of calls to it). */
  aorOf(user: string): string;
}

/** Why an attempt through a trunk ended, as recorded in the CDR's `trunks_tried`. */
export type TrunkTryResult = TrunkAttemptOutcome | 'answered' | 'canceled' | 'no-channel' | 'media-unavailable';

/** One entry of `trunks_tried`. */
export interface TrunkTry {
  readonly trunkId: string;
  readonly trunk: string;
  readonly result: TrunkTryResult;
}

/**
 * The serial search of one outbound call over its trunk list (RFC 3261 §8.1.3.1 / §21.5.4: a 503 or no answer from
 * one gateway means "try another"): takes the next trunk with a free channel, keeps that channel while the attempt
 * (and the call, once answered) lasts, reports every result to the trunk health, and records every trunk tried.
 */
export class TrunkFailover {
  private readonly tries: TrunkTry[] = [];
  private next = 0;
  private route: OutboundRoute | undefined;
  private channel: OutboundChannel | undefined;
  /** The current attempt's result is recorded. */
  private settled = true;

  constructor(
    private readonly router: OutboundRouter,
    private readonly routes: readonly OutboundRoute[],
  ) {}

  /** The trunk of the attempt in progress (or of the last one). */
  get current(): OutboundRoute | undefined {
    return this.route;
  }

  /** Trunks not tried yet. */
  get remaining(): number {
    return this.routes.length - this.next;
  }

  /** Every trunk tried so far, in order. */
  get tried(): readonly TrunkTry[] {
    return this.tries;
  }

  /**
   * Move on to the next trunk that has a free channel (trunks at their limit are recorded as `no-channel` and
   * skipped). Undefined when none is left. The previous attempt must be settled.
   */
  take(): OutboundRoute | undefined {
    this.releaseChannel();
    while (this.next < this.routes.length) {
      const route = this.routes[this.next++] as OutboundRoute;
      const channel = this.router.acquire(route.trunk.id);
      if (!channel) {
        this.tries.push({ trunkId: route.trunk.id, trunk: route.trunk.name, result: 'no-channel' });
        continue;
      }
      this.route = route;
      this.channel = channel;
      this.settled = false;
      return route;
    }
    return undefined;
  }

  /** The attempt in progress was answered: the channel stays held until `release()`. */
  answered(): void {
    const route = this.route;
    if (!route || this.settled) return;
    this.settled = true;
    this.router.reportResult(route.trunk.id, 200);
    this.tries.push({ trunkId: route.trunk.id, trunk: route.trunk.name, result: 'answered' });
  }

  /**
   * The attempt in progress failed with `result`; its channel is released. Returns true when the call should go on
   * to the next trunk: the result is one that fails over and `canceled` is false (our CANCEL, the caller hanging
   * up or the ring timeout end the search, they say nothing about the trunk).
   */
  failed(result: TrunkTryResult, canceled = false): boolean {
    const route = this.route;
    if (!route || this.settled) return false;
    this.settled = true;
    if (typeof result === 'number' || result === 'timeout') this.router.reportResult(route.trunk.id, result);
    this.tries.push({ trunkId: route.trunk.id, trunk: route.trunk.name, result: canceled ? 'canceled' : result });
    this.releaseChannel();
    if (canceled || (typeof result !== 'number' && result !== 'timeout')) return false;
    return this.router.shouldFailover(result);
  }

  /** The call is over: record an unsettled attempt as canceled and give its channel back. Idempotent. */
  release(): void {
    if (!this.settled) this.failed('canceled', true);
    this.releaseChannel();
  }

  /** `trunks_tried` as stored in the CDR metadata. */
  toJson(): JsonValue[] {
    return this.tries.map((t): JsonObject => ({ trunk_id: t.trunkId, trunk: t.trunk, result: t.result }));
  }

  private releaseChannel(): void {
    this.channel?.release();
    this.channel = undefined;
  }
}
