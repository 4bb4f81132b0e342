import { formatNameAddr, formatUri, parseNameAddr, parseUri, reasonPhrase, type NameAddr, type SipRequest, type SipUri } from '../message';
import type { InDialogRequestOptions } from '../dialog';
import type { ClientTransactionHandlers } from '../transaction';
import type { SipTarget } from './types';

/** RFC 3515 §2.3: the body type of REFER progress notifications (RFC 3420). */
export const SIPFRAG_CONTENT_TYPE = 'message/sipfrag;version=2.0';

/** Progress of a REFER we sent, from one NOTIFY (RFC 3515 §2.4.5). */
export interface ReferProgress {
  /** Status of the sipfrag status line (100 Trying, 180 Ringing, 200 OK, 503...); 0 when the body had none. */
  readonly status: number;
  readonly reason: string;
  /** The subscription is terminated: no more NOTIFYs come for this REFER. */
  readonly final: boolean;
  /** The NOTIFY that carried it. */
  readonly request: SipRequest;
}

/** The dialog to replace in an attended transfer (RFC 3891 §6.1 Replaces header values). */
export interface ReplacesTarget {
  readonly callId: string;
  readonly toTag: string;
  readonly fromTag: string;
  /** Add `early-only` (RFC 3891 §6.1). */
  readonly earlyOnly?: boolean;
}

/** Reads the status line of a message/sipfrag body ("SIP/2.0 180 Ringing"). Undefined when there is none. */
export function parseSipfrag(body: Buffer): { status: number; reason: string } | undefined {
  const text = body.toString('utf8');
  const eol = text.search(/\r?\n/);
  const line = (eol < 0 ? text : text.slice(0, eol)).trim();
  const m = /^SIP\/2\.0[ \t]+([1-6]\d\d)(?:[ \t]+(.*))?$/i.exec(line);
  if (!m) return undefined;
  return { status: Number(m[1]), reason: (m[2] ?? '').trim() };
}

/** A sipfrag body with just a status line (RFC 3515 §2.4.5: the minimum a notifier sends). */
export function formatSipfrag(status: number, reason: string): Buffer {
  return Buffer.from(`SIP/2.0 ${status} ${reason}\r\n`);
}

/** RFC 6665 §8.2.3 Subscription-State: `active;expires=60`, `terminated;reason=noresource`. */
export function parseSubscriptionState(value: string | undefined): { state: string; reason?: string; expires?: number } | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(';').map((p) => p.trim());
  const state = parts[0].toLowerCase();
  if (state === '') return undefined;
  const out: { state: string; reason?: string; expires?: number } = { state };
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    const v = p.slice(eq + 1).trim();
    if (k === 'reason') out.reason = v.toLowerCase();
    else if (k === 'expires' && /^\d+$/.test(v)) out.expires = Number(v);
  }
  return out;
}

/** RFC 6665 §8.2.1 Event: package and `id` parameter (`refer;id=93809824`). */
export function parseEvent(value: string | undefined): { pkg: string; id?: string } | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(';').map((p) => p.trim());
  const pkg = parts[0].toLowerCase();
  if (pkg === '') return undefined;
  const out: { pkg: string; id?: string } = { pkg };
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'id') out.id = p.slice(eq + 1).trim();
  }
  return out;
}

/**
 * The Refer-To value (RFC 3515 §2.1) for `target`; with `replaces` the URI carries a Replaces header
 * (RFC 3891 §6.1: callid;to-tag=..;from-tag=.., escaped as a URI header) for attended transfer.
 */
export function formatReferTo(target: string | SipUri, replaces?: ReplacesTarget): string {
  const uri = typeof target === 'string' ? parseUri(target) : target;
  if (!uri) throw new TypeError(`invalid transfer target: ${String(target)}`);
  if (!replaces) return `<${formatUri(uri)}>`;
  const copy: SipUri = { ...uri, params: new Map(uri.params), headers: new Map(uri.headers) };
  let value = `${replaces.callId};to-tag=${replaces.toTag};from-tag=${replaces.fromTag}`;
  if (replaces.earlyOnly) value += ';early-only';
  copy.headers.set('Replaces', value);
  return `<${formatUri(copy)}>`;
}

/** Reads Replaces back out of a Refer-To URI (the recipient's side of formatReferTo). */
export function replacesOf(referTo: NameAddr): ReplacesTarget | undefined {
  let raw: string | undefined;
  for (const [k, v] of referTo.uri.headers) if (k.toLowerCase() === 'replaces') raw = v;
  if (raw === undefined) return undefined;
  const parts = raw.split(';').map((p) => p.trim());
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const p of parts.slice(1)) {
    const [k, v] = p.split('=', 2).map((x) => x.trim());
    if (k.toLowerCase() === 'to-tag') toTag = v;
    else if (k.toLowerCase() === 'from-tag') fromTag = v;
    else if (k.toLowerCase() === 'early-only') earlyOnly = true;
  }
  if (!parts[0] || toTag === undefined || fromTag === undefined) return undefined;
  return earlyOnly ? { callId: parts[0], toTag, fromTag, earlyOnly } : { callId: parts[0], toTag, fromTag };
}

/** What a REFER subscription needs of its session: sending in-dialog requests. */
export interface ReferNotifier {
  sendRequest(method: string, opts?: InDialogRequestOptions, handlers?: Partial<ClientTransactionHandlers<SipTarget>>): boolean;
}

/**
 * The notifier side of a REFER we accepted (RFC 3515 §2.4.4: accepting creates an implicit subscription; every
 * status of the referred request is reported with a NOTIFY carrying a sipfrag, the last one terminating the
 * subscription). With `Refer-Sub: false` (RFC 4488 §4) there is no subscription and notify() sends nothing.
 */
export class ReferSubscription {
  /** Refer-To of the REFER: where the app should place the new call. */
  readonly referTo: NameAddr | undefined;
  /** Attended transfer: the dialog the new call replaces. */
  readonly replaces: ReplacesTarget | undefined;
  /** Referred-By of the REFER, as written. */
  readonly referredBy: string | undefined;
  /** False when the referrer asked for no subscription (RFC 4488). */
  readonly subscribed: boolean;
  private readonly eventValue: string;
  private done = false;

  constructor(
    private readonly notifier: ReferNotifier,
    readonly request: SipRequest,
    private readonly expiresS = 60,
  ) {
    const raw = request.getHeader('Refer-To');
    this.referTo = raw === undefined ? undefined : parseNameAddr(raw);
    this.replaces = this.referTo ? replacesOf(this.referTo) : undefined;
    this.referredBy = request.getHeader('Referred-By');
    this.subscribed = (request.getHeader('Refer-Sub') ?? '').trim().toLowerCase() !== 'false';
    let seq: number;
    try {
      seq = request.cseq.seq;
    } catch {
      seq = 0;
    }
    // RFC 3515 §2.4.6: the id parameter of Event is the CSeq number of the REFER.
    this.eventValue = `refer;id=${seq}`;
  }

  /** Whether the final NOTIFY was sent (or the subscription was never created). */
  get terminated(): boolean {
    return this.done || !this.subscribed;
  }

  /** The Refer-To URI as text, for logs and routing. */
  get targetText(): string | undefined {
    return this.referTo ? formatNameAddr(this.referTo) : undefined;
  }

  /**
   * Report the referred request's progress (100 Trying, 180 Ringing, 200 OK, 486 Busy Here...). A final status
   * (>= 200) terminates the subscription (RFC 3515 §2.4.7). Returns false when nothing was sent.
   */
  notify(status: number, reason?: string): boolean {
    if (this.terminated) return false;
    if (!Number.isInteger(status) || status < 100 || status > 699) throw new TypeError(`bad sipfrag status ${status}`);
    const final = status >= 200;
    if (final) this.done = true;
    return this.notifier.sendRequest('NOTIFY', {
      headers: [
        ['Event', this.eventValue],
        ['Subscription-State', final ? 'terminated;reason=noresource' : `active;expires=${this.expiresS}`],
      ],
      body: formatSipfrag(status, reason ?? reasonPhrase(status)),
      contentType: SIPFRAG_CONTENT_TYPE,
    });
  }
}
