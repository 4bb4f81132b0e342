import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SipRequest, SipUri } from '../sip/message';
import { silentLogger, type IncomingRequest, type SipTarget, type UaLogger } from '../sip/ua';
import type { SmsRecord, SmsRepository } from '../store';
import { CONCAT_HEADER, parseConcatHeader } from './concat-header';
import { IMDN_CONTENT_TYPE, isReceipt, mediaTypeOf, receiptOf, type DeliveryReceipt } from './delivery-receipt';
import { countSegments, smsEncodingOf } from './segmentation';

/** A trunk as inbound identification names it. */
export interface InboundSmsTrunk {
  readonly id: string;
}

/**
 * Inbound identification (issue 7), the policy INVITEs go through, applied to MESSAGE. The trunk registry satisfies
 * it: a request from a trunk's addresses, or that passes digest auth as a trunk, is that trunk's; any other source
 * is refused with 403 unless open inbound is configured, or challenged with 407 when a trunk has credentials.
 */
export interface InboundSmsPolicy {
  /** The counted decision for a request from `address` (RFC 3261 §21.4.4: 403 when we refuse to serve it). */
  checkInbound(
    address: string,
    toOurNumber?: boolean,
  ): { readonly kind: 'trunk'; readonly trunk: InboundSmsTrunk } | { readonly kind: 'open' } | { readonly kind: 'refused'; readonly status: number; readonly reason: string };
  /** Whether a request from `address` must first prove itself a trunk by digest. Absent: addresses only. */
  wantsDigest?(address: string): boolean;
  /** The counted digest decision (RFC 3261 §22.3): a trunk, a 407 challenge, or a refusal. */
  authenticate?(
    request: SipRequest,
  ):
    | { readonly kind: 'trunk'; readonly trunk: InboundSmsTrunk }
    | { readonly kind: 'challenge'; readonly status: number; readonly reason: string; readonly headers: readonly (readonly [string, string])[] }
    | { readonly kind: 'refused'; readonly status: number; readonly reason: string };
}

/** Answers of the inbound handler (RFC 3428 §7: 200 once stored; refusals are final). */
export interface InboundSmsHandlerOptions {
  repository: SmsRepository;
  /** Sender refused with 403 (BlockedNumberRepository.isBlocked). */
  isBlocked(number: string): Promise<boolean>;
  /** Is this one of our numbers? Default: every number is (numbers without settings use defaults). */
  acceptNumber?: (number: string) => boolean | Promise<boolean>;
  /** Trunk the request came from, if known (recorded on the message); `inbound` names it first when it applies. */
  trunkOf?: (source: SipTarget, request: SipRequest) => string | undefined;
  /** Who may send us MESSAGE (see InboundSmsPolicy). Absent: anyone. */
  inbound?: InboundSmsPolicy;
  /** Sources accepted without the `inbound` policy: the SMS gateway, which is no trunk. */
  trustedSource?: (source: SipTarget) => boolean;
  /** A text was stored (complete: a concatenated message only once all its parts are in). */
  onStored(record: SmsRecord): void;
  /** A delivery receipt arrived; resolves with the updated message, if any. */
  onReceipt(receipt: DeliveryReceipt): Promise<void>;
  logger?: UaLogger;
}

const ACCEPTED_TYPES = `text/plain, ${IMDN_CONTENT_TYPE}, message/cpim`;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The number in a From / Request-URI: tel: subscriber or sip user part (visual separators removed, RFC 3966 §5.1.1). */
export function numberOfUri(uri: SipUri): string | undefined {
  const user = uri.user;
  if (user === undefined || user.length === 0) return undefined;
  const semi = user.indexOf(';');
  const bare = semi < 0 ? user : user.slice(0, semi);
  const cleaned = /^\+?[0-9().\- ]+$/.test(bare) ? bare.replace(/[().\- ]/g, '') : bare;
  return cleaned.length > 0 ? cleaned : undefined;
}

/**
 * The sources of the SMS gateway (SMS_GATEWAY_URI): its host's addresses, resolved once (an IP literal as is). The
 * gateway is no trunk, yet its MESSAGEs (texts and receipts) are ours to take. A name that does not resolve matches
 * nothing (logged by the caller); IPv4-mapped IPv6 sources match their IPv4 address.
 */
export async function gatewaySources(gatewayUri: string): Promise<{ addresses: string[]; matches: (source: SipTarget) => boolean }> {
  const m = /^sips?:(?:[^@]*@)?([^;?]+)/i.exec(gatewayUri.trim());
  let host = m ? m[1] : '';
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') < 0 ? undefined : host.indexOf(']'));
  else if (host.indexOf(':') === host.lastIndexOf(':')) host = host.split(':')[0];
  let addresses: string[] = [];
  if (isIP(host) !== 0) addresses = [host];
  else if (host !== '') addresses = (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  const set = new Set(addresses);
  return {
    addresses,
    matches: (source) => set.has(source.address.startsWith('::ffff:') ? source.address.slice(7) : source.address) || set.has(source.address),
  };
}

function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m ? m[1].toLowerCase() : undefined;
}

type Decoded = { ok: true; text: string; fallback: boolean } | { ok: false };

/** Text of a text/plain body. UTF-8 (and US-ASCII, its subset) is the norm; Latin-1 is accepted when labelled. */
function decodeText(body: Buffer, charset: string | undefined): Decoded {
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii') {
    try {
      return { ok: true, text: UTF8.decode(body), fallback: false };
    } catch {
      // Mislabelled single-byte text is common from legacy gateways: keep the message, note the fallback.
      return { ok: true, text: body.toString('latin1'), fallback: true };
    }
  }
  if (charset === 'iso-8859-1' || charset === 'latin1' || charset === 'windows-1252') return { ok: true, text: body.toString('latin1'), fallback: false };
  return { ok: false };
}

/**
 * Inbound SIP MESSAGE (RFC 3428) from a trunk: with an `inbound` policy, the sender must be a trunk (by address or
 * digest) or the SMS gateway, unless open inbound is configured (403 or 407 otherwise, as for INVITE, and nothing is
 * stored); receipts update outbound messages; texts to our numbers are
 * stored (`received`) before the 200 goes back, so an acknowledged message is never lost, then forwarded. Parts
 * carrying X-SMS-Concat are kept until their set is complete (concat-header.ts). Never throws: storage failures
 * answer 500 so the trunk retries.
 */
export class InboundSmsHandler {
  private readonly log: UaLogger;

  constructor(private readonly opts: InboundSmsHandlerOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  /** For `ua.handle('MESSAGE', handler.handle)`. */
  readonly handle = (req: IncomingRequest): void => {
    this.process(req).catch((err: unknown) => {
      this.log.error({ err, callId: safeCallId(req.request) }, 'inbound MESSAGE failed');
      req.respond(500, { reason: 'Server Internal Error' });
    });
  };

  /**
   * The inbound policy for this MESSAGE, receipts included (a receipt from anyone could mark our messages
   * delivered): undefined when it was answered (407 challenge, 403 refusal), else the trunk it names, if any.
   */
  private identify(req: IncomingRequest): { trunkId: string | undefined } | undefined {
    const policy = this.opts.inbound;
    if (!policy || this.opts.trustedSource?.(req.source)) return { trunkId: undefined };
    const address = req.source.address;
    const verdict = policy.authenticate && policy.wantsDigest?.(address) ? policy.authenticate(req.request) : policy.checkInbound(address, true);
    switch (verdict.kind) {
      case 'trunk':
        return { trunkId: verdict.trunk.id };
      case 'open':
        return { trunkId: undefined };
      case 'challenge':
        // RFC 3261 §22.3: the retry is a new MESSAGE carrying Proxy-Authorization.
        req.respond(verdict.status, { reason: verdict.reason, headers: verdict.headers.map(([n, v]): [string, string] => [n, v]) });
        return undefined;
      default:
        this.log.info({ callId: safeCallId(req.request), source: address }, 'MESSAGE from an unknown source refused');
        req.respond(verdict.status, { reason: verdict.reason });
        return undefined;
    }
  }

  private async process(req: IncomingRequest): Promise<void> {
    const msg = req.request;
    const source = this.identify(req);
    if (!source) return;
    const header = (name: string): string | undefined => msg.getHeader(name);
    const contentType = msg.contentType;
    if (isReceipt(contentType, header)) {
      const receipt = receiptOf(contentType, msg.body, header);
      if (receipt) await this.opts.onReceipt(receipt);
      else this.log.debug({ callId: msg.callId }, 'unreadable delivery receipt ignored');
      // A receipt we cannot use is still answered 200: refusing it would only make the peer retry.
      req.respond(200);
      return;
    }

    const from = numberOfUri(msg.from.uri);
    const to = numberOfUri(msg.uri) ?? numberOfUri(msg.to.uri);
    if (from === undefined || to === undefined) {
      req.respond(400, { reason: 'Bad Request (No Number in From or Request-URI)' });
      return;
    }
    if (await this.opts.isBlocked(from)) {
      req.respond(403, { reason: 'Forbidden' });
      return;
    }
    if (this.opts.acceptNumber && !(await this.opts.acceptNumber(to))) {
      req.respond(404, { reason: 'Not Found' });
      return;
    }
    // RFC 3428 §7: a body type we do not understand gets 415 with Accept.
    const type = mediaTypeOf(contentType);
    if (type !== '' && type !== 'text/plain') {
      req.respond(415, { headers: [['Accept', ACCEPTED_TYPES]] });
      return;
    }
    const decoded = decodeText(msg.body, charsetOf(contentType));
    if (!decoded.ok) {
      req.respond(415, { reason: 'Unsupported Media Type (Charset)', headers: [['Accept', 'text/plain;charset=UTF-8']] });
      return;
    }
    const text = decoded.text;
    const trunkId = source.trunkId ?? this.opts.trunkOf?.(req.source, msg);
    const sipCallId = msg.callId;
    const concatValue = header(CONCAT_HEADER);
    let record: SmsRecord | undefined;
    if (concatValue !== undefined) {
      const concat = parseConcatHeader(concatValue);
      if (!concat.ok) {
        req.respond(400, { reason: `Bad Request (Invalid ${CONCAT_HEADER}: ${concat.reason})` });
        return;
      }
      if (concat.info.total > 1) {
        record = await this.opts.repository.addInboundPart({
          fromNumber: from,
          toNumber: to,
          ref: concat.info.ref,
          total: concat.info.total,
          seq: concat.info.seq,
          body: text,
          encoding: smsEncodingOf(text),
          trunkId,
          sipCallId,
        });
        req.respond(200);
        if (record) this.opts.onStored(record);
        return;
      }
    }
    const info = countSegments(text);
    record = await this.opts.repository.insertInbound({
      fromNumber: from,
      toNumber: to,
      body: text,
      // A gateway may have reassembled a long text itself: count what it would have taken.
      segments: info.segments,
      encoding: info.encoding,
      trunkId,
      sipCallId,
      metadata: decoded.fallback ? { charsetFallback: 'latin1' } : {},
    });
    req.respond(200);
    this.opts.onStored(record);
  }
}

function safeCallId(msg: SipRequest): string | undefined {
  try {
    return msg.callId;
  } catch {
    return undefined;
  }
}
