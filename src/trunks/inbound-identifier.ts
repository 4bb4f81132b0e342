import { BlockList, isIP } from 'node:net';
import { blockListHas, parseCidr } from '../config';
import type { SipRequest } from '../sip/message';
import type { TrunkRecord } from '../store';
import type { DigestInboundVerdict, InboundAuthenticator } from './inbound-authenticator';

/** What the call layer does with a request from `source` (RFC 3261 §21.4.4: 403 when we refuse to serve it). */
export type InboundVerdict =
  /** From a trunk: route it as that trunk's inbound call. */
  | { readonly kind: 'trunk'; readonly trunk: TrunkRecord }
  /** From nowhere we know, accepted because open inbound is configured. */
  | { readonly kind: 'open' }
  /** From nowhere we know, to one of our numbers: answer 403 Forbidden. */
  | { readonly kind: 'refused'; readonly status: 403; readonly reason: string };

/** Counts of inbound decisions, since start. */
export interface InboundStats {
  /** Requests identified as a trunk's (by address or by digest). */
  fromTrunk: number;
  openAccepted: number;
  /** Requests refused (unknown source, or failed digest authentication). */
  refused: number;
  /** 407 challenges sent to sources no trunk's address matches. */
  challenged: number;
  /** Of `fromTrunk`: identified by digest credentials. */
  authenticated: number;
  /** Of `refused`: wrong password, unknown user or unreadable credentials. */
  authFailed: number;
}

interface Entry {
  readonly trunk: TrunkRecord;
  readonly list: BlockList;
}

function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * Inbound identification: a request whose source address is inside one of a trunk's allowed CIDRs, or is the
 * trunk's resolved proxy address, comes from that trunk. Trunks are searched in route order (priority, then name)
 * so overlapping ranges resolve predictably. Only enabled trunks that take inbound calls count.
 */
export class InboundIdentifier {
  private entries: Entry[] = [];
  private readonly counts: InboundStats = { fromTrunk: 0, openAccepted: 0, refused: 0, challenged: 0, authenticated: 0, authFailed: 0 };

  /** `auth`: the digest path for sources no trunk's address matches (absent: addresses only). */
  constructor(
    private openInbound: boolean,
    private readonly auth?: InboundAuthenticator,
  ) {}

  /**
   * Rebuild from the trunk list and each trunk's resolved proxy addresses (trunk id -> IPs). Malformed CIDRs are
   * skipped (the API validates them; a bad row must not stop every other trunk from being recognised).
   */
  rebuild(trunks: readonly TrunkRecord[], proxyAddresses: ReadonlyMap<string, readonly string[]>): void {
    const entries: Entry[] = [];
    for (const trunk of trunks) {
      if (!trunk.enabled || !trunk.supportsInbound) continue;
      const list = new BlockList();
      let any = false;
      for (const text of trunk.inboundCidrs) {
        const block = parseCidr(text.trim());
        if (!block) continue;
        list.addSubnet(block.address, block.prefix, block.family === 4 ? 'ipv4' : 'ipv6');
        any = true;
      }
      for (const ip of proxyAddresses.get(trunk.id) ?? []) {
        const family = isIP(ip);
        if (family === 0) continue;
        list.addAddress(ip, family === 4 ? 'ipv4' : 'ipv6');
        any = true;
      }
      if (any) entries.push({ trunk, list });
    }
    this.entries = entries;
  }

  setOpenInbound(open: boolean): void {
    this.openInbound = open;
  }

  /** The trunk `address` belongs to, if any. */
  identify(address: string): TrunkRecord | undefined {
    const ip = plainAddress(address);
    for (const e of this.entries) if (blockListHas(e.list, ip)) return e.trunk;
    return undefined;
  }

  /**
   * The decision for a request from `address`. `toOurNumber`: the request is addressed to one of our DIDs (the
   * policy applies to those; calls to registered users or the test number are the call layer's business).
   * Counted in `stats()`.
   */
  check(address: string, toOurNumber = true): InboundVerdict {
    const trunk = this.identify(address);
    if (trunk) {
      this.counts.fromTrunk++;
      return { kind: 'trunk', trunk };
    }
    if (this.openInbound || !toOurNumber) {
      this.counts.openAccepted++;
      return { kind: 'open' };
    }
    this.counts.refused++;
    return { kind: 'refused', status: 403, reason: 'Forbidden' };
  }

  /**
   * Whether a request from `address` must prove itself a trunk by digest before it is routed: no trunk's address
   * matches it, open inbound is off, and some inbound trunk has credentials. Not counted. The address path stays
   * first: a trunk's own address is never challenged.
   */
  wantsDigest(address: string): boolean {
    return this.auth !== undefined && this.auth.active && !this.openInbound && this.identify(address) === undefined;
  }

  /**
   * The digest decision for a request that `wantsDigest()` and is addressed to one of our numbers (RFC 3261 §22.3):
   * a trunk when its credentials verify, a 407 challenge, or a refusal. Counted in `stats()`.
   */
  authenticate(request: SipRequest): DigestInboundVerdict {
    if (!this.auth) throw new TypeError('no inbound authenticator configured');
    const v = this.auth.authenticate(request);
    if (v.kind === 'trunk') {
      this.counts.fromTrunk++;
      this.counts.authenticated++;
    } else if (v.kind === 'challenge') this.counts.challenged++;
    else {
      this.counts.refused++;
      this.counts.authFailed++;
    }
    return v;
  }

  stats(): InboundStats {
    return { ...this.counts };
  }
}
