import {
  cloneUri,
  createRequest as buildRequest,
  formatNameAddr,
  formatUri,
  generateBranch,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message';
import { InvalidStateError, TypedEmitter } from '../../util';
import { dialogKey, type DialogId } from './dialog-id';
import { glareRetryDelayMs, retryAfterSeconds } from './glare';
import { cloneNameAddr, firstContact, recordRoutesOf, transportOfUri } from './header-access';
import { formatRAck, parseRSeq } from './rack';

export type DialogState = 'Early' | 'Confirmed' | 'Terminated';
export type DialogRole = 'uac' | 'uas';

/** Why a dialog ended (for logs, CDRs and metrics). */
export type DialogTerminationCause =
  | 'byeSent' // our BYE got its final response
  | 'byeReceived' // we answered the peer's BYE with 2xx
  | 'rejected' // the dialog-creating INVITE got (or was answered with) a non-2xx final response
  | 'callDoesNotExist' // a request inside the dialog got 481
  | 'requestTimeout' // a request inside the dialog got 408 or no response at all
  | 'ackTimeout' // the UAS never got the ACK for its 2xx
  | 'sessionExpired' // RFC 4028 session timer ran out
  | 'forkExpired' // an early dialog of a forked INVITE that never got a 2xx
  | 'local'; // the application ended it

export type DialogEvents = {
  statechange: [state: DialogState, previous: DialogState];
  terminated: [cause: DialogTerminationCause];
};

/** Result of creating a dialog from network messages: a typed failure instead of a throw. */
export type DialogCreateResult =
  | { ok: true; dialog: Dialog }
  | { ok: false; code: DialogCreateErrorCode; message: string };

export type DialogCreateErrorCode =
  | 'DIALOG_NOT_DIALOG_CREATING' // status 100, or >= 300
  | 'DIALOG_NO_TAG' // a provisional response without To tag creates no dialog
  | 'DIALOG_NO_CONTACT' // the peer's dialog-creating request carries no usable Contact
  | 'DIALOG_BAD_HEADER'; // From/To/Call-ID/CSeq/Record-Route unreadable

/** Verdict on a request received inside a dialog (RFC 3261 §12.2.2, §14.2). */
export type InDialogRequestVerdict =
  | { ok: true }
  | { ok: false; status: number; reason: string; headers: [string, string][] };

/** What the UAC does with a reliable provisional response (RFC 3262 §4). */
export type ReliableProvisionalVerdict =
  | { action: 'prack'; rseq: number }
  | { action: 'ignore'; reason: 'duplicate' | 'outOfOrder' | 'noRSeq' };

export interface DialogOptions {
  /** Random source for the initial local CSeq, Retry-After and glare back-off; defaults to Math.random. */
  random?: () => number;
  /**
   * UAS only: the request arrived over TLS (or WSS). Defaults to the transport of the request's top Via, which
   * is the transport the previous hop used to send it (RFC 3261 §18.2.1).
   */
  secureTransport?: boolean;
}

/** Options for requests built inside the dialog. */
export interface InDialogRequestOptions {
  /** Extra header fields, appended after the dialog's own (e.g. Supported, Allow, Authorization, Reason). */
  headers?: readonly (readonly [string, string])[];
  body?: Buffer;
  contentType?: string;
  /** Complete Via value. Default: sent-by taken from the local Contact, a fresh branch and `rport` (RFC 3581). */
  via?: string;
  /** Contact for target-refresh requests; default: the dialog's local Contact. */
  contact?: string;
}

/** RFC 3261 §12.2 (and RFC 3311, RFC 6665, RFC 3515): requests that refresh the remote target. */
export function isTargetRefreshMethod(method: string): boolean {
  return method === 'INVITE' || method === 'UPDATE' || method === 'SUBSCRIBE' || method === 'NOTIFY' || method === 'REFER';
}

/** Methods whose 2xx (or 101-199 with a tag, for INVITE) create a dialog: INVITE, SUBSCRIBE (RFC 6665), REFER (RFC 3515). */
export function isDialogCreatingMethod(method: string): boolean {
  return method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER';
}

interface DialogInit {
  id: DialogId;
  role: DialogRole;
  state: DialogState;
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  localUri: NameAddr;
  remoteUri: NameAddr;
  remoteTarget: SipUri;
  routeSet: NameAddr[];
  secure: boolean;
  localContact: NameAddr | undefined;
  initialCseq: number;
  method: string;
  random: () => number;
}

const ACCEPTED: InDialogRequestVerdict = Object.freeze({ ok: true });
const MAX_CSEQ = 0x7fffffff; // RFC 3261 §8.1.1.5: a sequence number is less than 2**31

/**
 * The state of one dialog (RFC 3261 §12): identity, sequence numbers, route set, remote target, plus the
 * bookkeeping the UA core needs for in-dialog requests, re-INVITE glare (§14) and RFC 3262 RSeq ordering.
 * Pure state: it never sends anything and holds no timers. The UA core feeds it what it sends and receives:
 *
 *   incoming request  -> validateIncomingRequest(req)    (481/500/491 verdicts, remote CSeq)
 *   response we send  -> responseSent(req, res)          (UAS: confirm, target refresh, BYE)
 *   request we send   <- createRequest / createAck / createPrack
 *   response we get   -> responseReceived(res)           (UAC: confirm, target refresh, 481/408)
 */
export class Dialog extends TypedEmitter<DialogEvents> {
  readonly id: DialogId;
  /** dialogKey(id): the map key used by DialogManager. */
  readonly key: string;
  readonly role: DialogRole;
  /** Method of the request that created the dialog (INVITE, SUBSCRIBE, REFER). */
  readonly method: string;
  /** CSeq number of the dialog-creating request. */
  readonly initialCseq: number;
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  /** RFC 3261 §12.1.1: TRUE when the dialog was set up over TLS with a SIPS Request-URI. */
  readonly secure: boolean;

  private stateValue: DialogState;
  private localSeqValue: number | undefined;
  private remoteSeqValue: number | undefined;
  private remoteTargetValue: SipUri;
  private routeSetValue: NameAddr[];
  private routeValues: string[] = [];
  private localContactValue: NameAddr | undefined;
  private localContactText: string | undefined;
  private readonly fromValue: string;
  private readonly toValue: string;
  private readonly random: () => number;
  /** CSeq of the INVITE we sent that has no final response yet (RFC 3261 §14.1). */
  private outgoingInvite: number | undefined;
  /** CSeq of the INVITE we received and have not answered finally yet (RFC 3261 §14.2). */
  private incomingInvite: number | undefined;
  /** Last RSeq of a reliable provisional response accepted on this dialog (RFC 3262 §4). */
  private remoteRseq: number | undefined;
  private terminationCause: DialogTerminationCause | undefined;

  private constructor(init: DialogInit) {
    super();
    this.id = init.id;
    this.key = dialogKey(init.id.callId, init.id.localTag, init.id.remoteTag);
    this.role = init.role;
    this.method = init.method;
    this.initialCseq = init.initialCseq;
    this.stateValue = init.state;
    this.localSeqValue = init.localSeq;
    this.remoteSeqValue = init.remoteSeq;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTargetValue = init.remoteTarget;
    this.routeSetValue = init.routeSet;
    this.secure = init.secure;
    this.random = init.random;
    this.setLocalContact(init.localContact);
    this.setRouteSet(init.routeSet);
    // RFC 3261 §12.2.1.1: From = local URI + local tag, To = remote URI + remote tag; fixed for the dialog's life.
    this.fromValue = formatNameAddr(withTag(init.localUri, init.id.localTag));
    this.toValue = formatNameAddr(withTag(init.remoteUri, init.id.remoteTag));
    if (init.method === 'INVITE' && init.state === 'Early') {
      // The dialog-creating INVITE is still in progress: no re-INVITE either way until it completes (§14.1).
      if (init.role === 'uac') this.outgoingInvite = init.initialCseq;
      else this.incomingInvite = init.initialCseq;
    }
  }

  /**
   * RFC 3261 §12.1.1: the dialog state of a UAS that answered `request` with `response` (101-199 with a To tag
   * creates an early dialog, 2xx a confirmed one). Route set = Record-Route of the request, in order; remote
   * target = Contact of the request; remote sequence number = the request's CSeq; local sequence number empty.
   */
  static fromUasResponse(request: SipRequest, response: SipResponse, opts: DialogOptions = {}): DialogCreateResult {
    const status = response.status;
    if (status <= 100 || status >= 300) return fail('DIALOG_NOT_DIALOG_CREATING', `status ${status} creates no dialog`);
    let localTag: string | undefined;
    let remoteTag: string;
    let callId: string;
    let cseq: number;
    let localUri: NameAddr;
    let remoteUri: NameAddr;
    let secureTransport: boolean;
    try {
      localTag = response.toTag;
      // §12.1.1: a From without tag is the RFC 2543 "null" tag.
      remoteTag = request.fromTag ?? '';
      callId = request.callId;
      cseq = request.cseq.seq;
      localUri = cloneNameAddr(request.to, true);
      remoteUri = cloneNameAddr(request.from, true);
      secureTransport = opts.secureTransport ?? isSecureTransport(request.via.transport);
    } catch (err) {
      return fail('DIALOG_BAD_HEADER', errorText(err));
    }
    if (localTag === undefined) return fail('DIALOG_NO_TAG', 'the response carries no To tag');
    const contact = firstContact(request);
    if (!contact) return fail('DIALOG_NO_CONTACT', 'the request has no usable Contact (RFC 3261 §8.1.1.8)');
    const routes = recordRoutesOf(request);
    if (!routes) return fail('DIALOG_BAD_HEADER', 'malformed Record-Route');
    const localContact = firstContact(response);
    return {
      ok: true,
      dialog: new Dialog({
        id: { callId, localTag, remoteTag },
        role: 'uas',
        state: status < 200 ? 'Early' : 'Confirmed',
        localSeq: undefined,
        remoteSeq: cseq,
        localUri,
        remoteUri,
        remoteTarget: cloneUri(contact.uri),
        routeSet: routes.map((r) => cloneNameAddr(r)),
        secure: secureTransport && request.uri.scheme === 'sips',
        localContact: localContact ? cloneNameAddr(localContact) : undefined,
        initialCseq: cseq,
        method: request.method,
        random: opts.random ?? Math.random,
      }),
    };
  }

  /**
   * RFC 3261 §12.1.2: the dialog state of a UAC that sent `request` and received `response` (101-199 with a To
   * tag: early; 2xx: confirmed, a missing To tag then being the RFC 2543 null tag). Route set = Record-Route of
   * the response in reverse order; remote target = Contact of the response (the Request-URI if a broken peer
   * sends none, which keeps the call alive through the route set); local sequence number = the request's CSeq.
   */
  static fromUacResponse(request: SipRequest, response: SipResponse, opts: DialogOptions = {}): DialogCreateResult {
    const status = response.status;
    if (status <= 100 || status >= 300) return fail('DIALOG_NOT_DIALOG_CREATING', `status ${status} creates no dialog`);
    let toTag: string | undefined;
    let localTag: string | undefined;
    let callId: string;
    let cseq: number;
    let localUri: NameAddr;
    let remoteUri: NameAddr;
    try {
      toTag = response.toTag;
      localTag = request.fromTag;
      callId = request.callId;
      cseq = request.cseq.seq;
      localUri = cloneNameAddr(request.from, true);
      remoteUri = cloneNameAddr(request.to, true);
    } catch (err) {
      return fail('DIALOG_BAD_HEADER', errorText(err));
    }
    if (localTag === undefined) return fail('DIALOG_NO_TAG', 'our request carries no From tag');
    if (toTag === undefined && status < 200) return fail('DIALOG_NO_TAG', 'a provisional response without To tag creates no dialog');
    const routes = recordRoutesOf(response);
    if (!routes) return fail('DIALOG_BAD_HEADER', 'malformed Record-Route');
    const contact = firstContact(response);
    const localContact = firstContact(request);
    return {
      ok: true,
      dialog: new Dialog({
        id: { callId, localTag, remoteTag: toTag ?? '' },
        role: 'uac',
        state: status < 200 ? 'Early' : 'Confirmed',
        localSeq: cseq,
        remoteSeq: undefined,
        localUri,
        remoteUri,
        remoteTarget: cloneUri(contact ? contact.uri : request.uri),
        routeSet: reverseRoutes(routes),
        secure: request.uri.scheme === 'sips',
        localContact: localContact ? cloneNameAddr(localContact) : undefined,
        initialCseq: cseq,
        method: request.method,
        random: opts.random ?? Math.random,
      }),
    };
  }

  get state(): DialogState {
    return this.stateValue;
  }
  get localSeq(): number | undefined {
    return this.localSeqValue;
  }
  get remoteSeq(): number | undefined {
    return this.remoteSeqValue;
  }
  get remoteTarget(): SipUri {
    return this.remoteTargetValue;
  }
  /** In the order requests visit them (already reversed for the UAC). */
  get routeSet(): readonly NameAddr[] {
    return this.routeSetValue;
  }
  get localContact(): NameAddr | undefined {
    return this.localContactValue;
  }
  get terminatedBy(): DialogTerminationCause | undefined {
    return this.terminationCause;
  }
  /** RFC 3261 §14.1: the UA that generated the Call-ID is the UAC of the dialog-creating request. */
  get isCallIdOwner(): boolean {
    return this.role === 'uac';
  }
  /** An INVITE transaction we started inside this dialog (or the initial one) has no final response yet. */
  get outgoingInvitePending(): boolean {
    return this.outgoingInvite !== undefined;
  }
  /** An INVITE we received inside this dialog (or the initial one) has not been answered with a final response. */
  get incomingInvitePending(): boolean {
    return this.incomingInvite !== undefined;
  }
  /** RFC 3261 §14.1: a re-INVITE may start only on a confirmed dialog with no INVITE in progress either way. */
  get canSendReInvite(): boolean {
    return this.stateValue === 'Confirmed' && this.outgoingInvite === undefined && this.incomingInvite === undefined;
  }

  /** RFC 3261 §14.1: how long to wait before retrying a re-INVITE that got 491. */
  glareRetryDelay(): number {
    return glareRetryDelayMs(this.isCallIdOwner, this.random);
  }

  /** Replace the Contact we advertise (e.g. after a transport change); used on the next target-refresh request. */
  setLocalContact(contact: NameAddr | undefined): void {
    this.localContactValue = contact;
    this.localContactText = contact ? formatNameAddr(contact) : undefined;
  }

  /**
   * RFC 3261 §12.2.2: checks a request matched to this dialog before the UA core acts on it, and records its CSeq.
   * - a terminated dialog answers 481;
   * - a CSeq lower than the remote sequence number is out of order: 500 with Retry-After (ACK and CANCEL are
   *   exempt: they carry the CSeq of the INVITE they belong to);
   * - RFC 3261 §14.2 glare: an INVITE while our own INVITE is in progress gets 491; an INVITE while an earlier
   *   incoming INVITE is unanswered gets 500 with Retry-After between 0 and 10 s.
   * On `ok` an INVITE is recorded as pending until responseSent() sees its final response.
   */
  validateIncomingRequest(req: SipRequest): InDialogRequestVerdict {
    if (this.stateValue === 'Terminated') return reject(481, 'Call/Transaction Does Not Exist');
    const method = req.method;
    if (method === 'ACK' || method === 'CANCEL') return ACCEPTED;
    let seq: number;
    try {
      seq = req.cseq.seq;
    } catch {
      return reject(400, 'Bad CSeq');
    }
    if (this.remoteSeqValue !== undefined && seq < this.remoteSeqValue) {
      return reject(500, 'Request Out Of Order', [['Retry-After', String(retryAfterSeconds(this.random))]]);
    }
    // §12.2.2: an in-order request sets the remote sequence number, whatever the UA then answers.
    this.remoteSeqValue = seq;
    if (method === 'INVITE') {
      if (this.incomingInvite !== undefined) {
        return reject(500, 'Server Internal Error', [['Retry-After', String(retryAfterSeconds(this.random))]]);
      }
      if (this.outgoingInvite !== undefined) return reject(491, 'Request Pending');
      this.incomingInvite = seq;
    }
    return ACCEPTED;
  }

  /**
   * UAS bookkeeping: the UA sent `response` to `request` (a request of this dialog, or its creating request).
   * - the final response to the creating INVITE confirms (2xx) or terminates (non-2xx) an early dialog (§12.3);
   * - a final response to an INVITE ends its pending state (§14.2);
   * - a 2xx to a target-refresh request replaces the remote target with the request's Contact (§12.2.2; RFC 6141
   *   §3.3 and §4: a rejected target refresh leaves the target unchanged);
   * - a 2xx to BYE ends the dialog (§15.1.2).
   */
  responseSent(request: SipRequest, response: SipResponse): void {
    if (this.stateValue === 'Terminated') return;
    const status = response.status;
    if (status < 200) return;
    const method = request.method;
    let seq: number;
    try {
      seq = request.cseq.seq;
    } catch {
      return;
    }
    if (method === 'INVITE' && this.incomingInvite === seq) this.incomingInvite = undefined;
    if (this.stateValue === 'Early' && seq === this.initialCseq && method === this.method) {
      if (status >= 300) {
        this.terminate('rejected');
        return;
      }
      const contact = firstContact(response);
      if (contact) this.setLocalContact(cloneNameAddr(contact));
      this.setState('Confirmed');
      return;
    }
    if (status >= 300) return;
    if (isTargetRefreshMethod(method)) {
      const contact = firstContact(request);
      if (contact) this.remoteTargetValue = cloneUri(contact.uri);
    }
    if (method === 'BYE') this.terminate('byeReceived');
  }

  /**
   * UAC bookkeeping: `response` answers a request this dialog sent (or its creating request).
   * - creating INVITE: 1xx updates the remote target from Contact; 2xx confirms the dialog and recomputes the
   *   route set and remote target from it (§13.2.2.4); non-2xx terminates the early dialog (§12.3);
   * - a final response to an INVITE ends its pending state (§14.1);
   * - 481 or 408 terminates the dialog (§12.2.1.2);
   * - a 2xx to a target-refresh request replaces the remote target with the response's Contact (§12.2.1.2);
   * - a final response to BYE (other than an authentication challenge, which the UA answers) ends the dialog.
   */
  responseReceived(response: SipResponse): void {
    if (this.stateValue === 'Terminated') return;
    let seq: number;
    let method: string;
    try {
      const cseq = response.cseq;
      seq = cseq.seq;
      method = cseq.method;
    } catch {
      return;
    }
    const status = response.status;
    if (method === 'INVITE' && status >= 200 && this.outgoingInvite === seq) this.outgoingInvite = undefined;
    if (this.stateValue === 'Early' && seq === this.initialCseq && method === this.method) {
      if (status < 200) {
        const contact = firstContact(response);
        if (contact) this.remoteTargetValue = cloneUri(contact.uri);
        return;
      }
      if (status < 300) {
        this.confirmFrom2xx(response);
        return;
      }
      this.terminate('rejected');
      return;
    }
    if (status === 481) {
      this.terminate('callDoesNotExist');
      return;
    }
    if (status === 408) {
      this.terminate('requestTimeout');
      return;
    }
    if (status >= 200 && status < 300 && isTargetRefreshMethod(method)) {
      const contact = firstContact(response);
      if (contact) this.remoteTargetValue = cloneUri(contact.uri);
    }
    if (method === 'BYE' && status >= 200 && status !== 401 && status !== 407) this.terminate('byeSent');
  }

  /**
   * The client transaction of a request this dialog sent timed out. RFC 3261 §12.2.1.2: the UAC SHOULD terminate
   * the dialog. For INVITE it also ends the pending state.
   */
  requestTimedOut(method: string, seq: number): void {
    if (method === 'INVITE' && this.outgoingInvite === seq) this.outgoingInvite = undefined;
    this.terminate('requestTimeout');
  }

  /**
   * RFC 3261 §12.2.1.1: a request inside the dialog. Request-URI and Route come from the remote target and
   * route set (loose routing when the first route has `lr`, otherwise strict routing: the first route becomes
   * the Request-URI and the remote target the last Route); CSeq is the next local sequence number; From/To
   * carry the dialog's URIs and tags; target-refresh requests carry our Contact. ACK and CANCEL are not built
   * here: use createAck(); CANCEL belongs to the transaction of the INVITE it cancels (§9.1).
   * @throws InvalidStateError on a terminated dialog, or for an INVITE while one is in progress (§14.1).
   */
  createRequest(method: string, opts: InDialogRequestOptions = {}): SipRequest {
    if (method === 'ACK') throw new TypeError('build ACK for a 2xx with createAck()');
    if (method === 'CANCEL') throw new TypeError('CANCEL is built from the INVITE it cancels, not inside the dialog (RFC 3261 §9.1)');
    if (this.stateValue === 'Terminated') throw new InvalidStateError(`dialog ${this.id.callId} is terminated`);
    if (method === 'INVITE' && !this.canSendReInvite) {
      throw new InvalidStateError('RFC 3261 §14.1: an INVITE transaction is already in progress on this dialog (or it is not confirmed)');
    }
    const seq = this.nextLocalSeq();
    if (method === 'INVITE') this.outgoingInvite = seq;
    return this.build(method, seq, opts, isTargetRefreshMethod(method));
  }

  /**
   * RFC 3261 §13.2.2.4: the ACK for a 2xx to the INVITE with CSeq `inviteCseq`: built like any request of the
   * dialog, same CSeq number, method ACK, a new branch; may carry the answer of a late offer in `opts.body`.
   * Credentials of the INVITE go in `opts.headers`.
   */
  createAck(inviteCseq: number, opts: InDialogRequestOptions = {}): SipRequest {
    if (!Number.isInteger(inviteCseq) || inviteCseq < 0 || inviteCseq > MAX_CSEQ) throw new TypeError(`bad CSeq ${inviteCseq}`);
    if (this.stateValue === 'Terminated') throw new InvalidStateError(`dialog ${this.id.callId} is terminated`);
    return this.build('ACK', inviteCseq, opts, false);
  }

  /**
   * RFC 3262 §4: decides whether a reliable provisional response (RSeq present) received on this early dialog is
   * PRACKed. The first one sets the baseline; afterwards only RSeq = last + 1 is acknowledged, a repeat of the
   * last is a retransmission (its PRACK is already on its way), anything else is out of order and MUST NOT be
   * acknowledged.
   */
  checkReliableProvisional(response: SipResponse): ReliableProvisionalVerdict {
    const rseq = parseRSeq(response.getHeader('RSeq'));
    if (rseq === undefined) return { action: 'ignore', reason: 'noRSeq' };
    const last = this.remoteRseq;
    if (last !== undefined) {
      if (rseq === last) return { action: 'ignore', reason: 'duplicate' };
      if (rseq !== last + 1) return { action: 'ignore', reason: 'outOfOrder' };
    }
    this.remoteRseq = rseq;
    return { action: 'prack', rseq };
  }

  /**
   * RFC 3262 §7.1: PRACK for reliable provisional `response` with RAck = RSeq, CSeq number and method of the
   * response. PRACK is an ordinary in-dialog request with its own CSeq.
   */
  createPrack(response: SipResponse, opts: InDialogRequestOptions = {}): SipRequest {
    const rseq = parseRSeq(response.getHeader('RSeq'));
    if (rseq === undefined) throw new TypeError('the response has no valid RSeq: it is not a reliable provisional response');
    const cseq = response.cseq;
    const rack: [string, string] = ['RAck', formatRAck({ rseq, cseq: cseq.seq, method: cseq.method })];
    return this.createRequest('PRACK', { ...opts, headers: opts.headers ? [rack, ...opts.headers] : [rack] });
  }

  /** Ends the dialog (idempotent); emits `statechange` and `terminated`. */
  terminate(cause: DialogTerminationCause = 'local'): void {
    if (this.stateValue === 'Terminated') return;
    this.terminationCause = cause;
    this.outgoingInvite = undefined;
    this.incomingInvite = undefined;
    this.setState('Terminated');
    this.safeEmit('terminated', cause);
  }

  /** RFC 3261 §13.2.2.4: a 2xx on an early dialog confirms it; route set and target are recomputed from the 2xx. */
  private confirmFrom2xx(response: SipResponse): void {
    const routes = recordRoutesOf(response);
    if (routes) this.setRouteSet(reverseRoutes(routes));
    const contact = firstContact(response);
    if (contact) this.remoteTargetValue = cloneUri(contact.uri);
    this.setState('Confirmed');
  }

  private setRouteSet(routes: NameAddr[]): void {
    this.routeSetValue = routes;
    // Formatted once per route-set change, not per request.
    this.routeValues = routes.map((r) => formatNameAddr(r));
  }

  private setState(next: DialogState): void {
    const previous = this.stateValue;
    if (previous === next) return;
    this.stateValue = next;
    this.safeEmit('statechange', next, previous);
  }

  /** RFC 3261 §12.2.1.1: increment the local sequence number, choosing it per §8.1.1.5 when empty (UAS). */
  private nextLocalSeq(): number {
    const current = this.localSeqValue;
    // §8.1.1.5: an initial value below 2^31; a small one keeps room to count up and traces readable.
    const next = current === undefined ? 1 + Math.floor(this.random() * 0xffff) : current + 1;
    if (next > MAX_CSEQ) throw new InvalidStateError('local CSeq space exhausted (RFC 3261 §8.1.1.5)');
    this.localSeqValue = next;
    return next;
  }

  private build(method: string, seq: number, opts: InDialogRequestOptions, withContact: boolean): SipRequest {
    const headers: [string, string][] = [['Via', opts.via ?? this.defaultVia()], ['Max-Forwards', '70']];
    let uri: SipUri | string = this.remoteTargetValue;
    const routes = this.routeSetValue;
    if (routes.length > 0) {
      if (routes[0].uri.params.has('lr')) {
        // §12.2.1.1 loose routing: Request-URI = remote target, Route = the route set as is.
        for (const r of this.routeValues) headers.push(['Route', r]);
      } else {
        // §12.2.1.1 strict routing: Request-URI = first route (minus parameters not allowed in a Request-URI,
        // §19.1.1 Table 1: `method` and URI headers); Route = the rest, then the remote target.
        uri = requestUriFromRoute(routes[0].uri);
        for (let i = 1; i < this.routeValues.length; i++) headers.push(['Route', this.routeValues[i]]);
        headers.push(['Route', `<${formatUri(this.remoteTargetValue)}>`]);
      }
    }
    headers.push(['From', this.fromValue], ['To', this.toValue], ['Call-ID', this.id.callId], ['CSeq', `${seq} ${method}`]);
    if (withContact) {
      const contact = opts.contact ?? this.localContactText;
      if (contact !== undefined) headers.push(['Contact', contact]);
    }
    if (opts.headers) for (const [name, value] of opts.headers) headers.push([name, value]);
    const init: { method: string; uri: SipUri | string; headers: [string, string][]; body?: Buffer; contentType?: string } = {
      method,
      uri,
      headers,
    };
    if (opts.body !== undefined) init.body = opts.body;
    if (opts.contentType !== undefined) init.contentType = opts.contentType;
    return buildRequest(init);
  }

  /** Via with the sent-by of our Contact; the UA or transport may rewrite it when it picks the socket. */
  private defaultVia(): string {
    const contact = this.localContactValue;
    if (!contact) throw new InvalidStateError('the dialog has no local Contact: pass opts.via');
    const u = contact.uri;
    const sentBy = u.port !== undefined ? `${u.host}:${u.port}` : u.host;
    return `SIP/2.0/${transportOfUri(u)} ${sentBy};branch=${generateBranch()};rport`;
  }
}

function withTag(na: NameAddr, tag: string): NameAddr {
  const params = new Map<string, string | null>();
  // A null (RFC 2543) remote tag is sent as no tag at all.
  if (tag !== '') params.set('tag', tag);
  const copy: NameAddr = { uri: na.uri, params };
  if (na.displayName !== undefined) copy.displayName = na.displayName;
  return copy;
}

/** §12.1.2: the UAC's route set is the Record-Route of the response in reverse order. */
function reverseRoutes(routes: NameAddr[]): NameAddr[] {
  const out: NameAddr[] = new Array<NameAddr>(routes.length);
  for (let i = 0; i < routes.length; i++) out[routes.length - 1 - i] = cloneNameAddr(routes[i]);
  return out;
}

function requestUriFromRoute(route: SipUri): SipUri {
  const uri = cloneUri(route);
  uri.params.delete('method');
  uri.headers.clear();
  return uri;
}

function isSecureTransport(transport: string): boolean {
  return transport === 'TLS' || transport === 'WSS';
}

function reject(status: number, reason: string, headers: [string, string][] = []): InDialogRequestVerdict {
  return { ok: false, status, reason, headers };
}

function fail(code: DialogCreateErrorCode, message: string): DialogCreateResult {
  return { ok: false, code, message };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
