import { InvalidStateError, type Clock } from '../../util';
import {
  buildErrorResponse,
  createResponse,
  formatVia,
  generateBranch,
  generateTag,
  parseMessage,
  type SipParseError,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message';
import { DialogManager, UacAckRetransmitGuard, dialogIdKey, type Dialog } from '../dialog';
import {
  TransactionLayer,
  type ClientTransaction,
  type ClientTransactionHandlers,
  type ServerTransaction,
  type TransactionUser,
} from '../transaction';
import { shouldUseStream, type MessageSource, type TransportProtocol } from '../transport';
import { checkRequest } from './request-checks';
import { InviteSession, type SessionHost } from './invite-session';
import { ServerInviteSession, type ResponseOptions } from './server-invite-session';
import { ClientInviteSession, type InviteOptions, type UacHost } from './client-invite-session';
import { sendOutOfDialogRequest, type OutOfDialogRequestOptions } from './uac';
import { receivedViaRewrite, resolveUriTarget, responseTargetOf, targetOfSource, uriTargetIfLiteral } from './targets';
import { silentLogger, type SipTarget, type UaHooks, type UaLogger } from './types';

export interface UserAgentOptions {
  clock: Clock;
  /** Hands bytes to the transport layer; rejects on transport error (RFC 3261 §17.1.4). */
  send(target: SipTarget, data: Buffer): Promise<unknown>;
  /** Address written in Via sent-by and Contact. */
  publicHost: string;
  /** Listening port per transport (for Via and Contact). */
  ports: Partial<Record<TransportProtocol, number>>;
  T1?: number;
  T2?: number;
  T4?: number;
  maxMessageSize?: number;
  /** Option tags we implement (RFC 3261 §19.2). */
  supported?: readonly string[];
  /** Value of the Server / User-Agent header. */
  product?: string;
  logger?: UaLogger;
  hooks?: UaHooks;
  /** Source allow-list and flood detector consulted before parsing (see IngressGuard). */
  ingress?: { check(sourceAddress: string, isRequest: boolean): 'accept' | 'deny' | 'drop' };
  /**
   * Overload control, consulted for each new out-of-dialog INVITE and OPTIONS before any call work: undefined admits
   * the request, a number refuses it with 503 and that Retry-After (s).
   */
  overload?: { check(method: string): number | undefined; readonly overloaded: boolean };
}

/** An out-of-dialog request (other than INVITE/CANCEL/ACK) handed to the application. */
export interface IncomingRequest {
  readonly request: SipRequest;
  readonly source: SipTarget;
  respond(status: number, opts?: ResponseOptions): void;
}

export type RequestHandler = (req: IncomingRequest) => void;

/**
 * Option tags we implement by default (RFC 3261 §19.2): reliable provisional responses both ways (RFC 3262), session
 * timers (RFC 4028), Replaces (RFC 3891).
 */
const DEFAULT_SUPPORTED = ['100rel', 'timer', 'replaces'];

/** Methods the UA core always serves itself. */
const CORE_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'INFO', 'UPDATE', 'REFER', 'NOTIFY', 'PRACK'];

/**
 * The UA core (RFC 3261 §8.2, §12-§15): parses what the transport delivers, answers what cannot be parsed, applies
 * the UAS request checks, routes requests to transactions, dialogs and INVITE sessions, and gives the application
 * new INVITEs and other out-of-dialog requests. It is the TransactionUser of the transaction layer.
 */
export class SipUserAgent implements TransactionUser<SipTarget>, SessionHost, UacHost {
  readonly clock: Clock;
  readonly t1: number;
  readonly t2: number;
  readonly transactions: TransactionLayer<SipTarget>;
  readonly dialogs: DialogManager;
  /** New INVITE outside a dialog. Without a handler INVITEs get 480. */
  onInvite: ((session: ServerInviteSession) => void) | undefined;

  private readonly opts: UserAgentOptions;
  private readonly log: UaLogger;
  private readonly hooks: UaHooks;
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly sessions = new Map<string, InviteSession>();
  private readonly pendingInvites = new Map<ServerTransaction<SipTarget>, ServerInviteSession>();
  /** §8.2.2.2 merged-request detection: From tag, Call-ID, CSeq of INVITEs in progress -> their branch. */
  private readonly inviteKeys = new Map<string, string | undefined>();
  private readonly policy: { allow: Set<string>; supported: Set<string>; acceptSession: Set<string> };
  private readonly contacts = new Map<TransportProtocol, string>();
  /** Value of our Server / User-Agent header. */
  readonly product: string;
  private closed = false;
  /** The new INVITE the overload control admitted in `receive`, on its way to `onRequest` (see shedInvite). */
  private admittedInvite: SipRequest | undefined;
  // ---- UAC side (added with ClientInviteSession) ----
  /** Outbound INVITEs not yet tied to a dialog (before the first 18x/2xx with a To tag). */
  private readonly clientInvites = new Set<ClientInviteSession>();
  /** RFC 3261 §13.2.2.4: ACKs we sent for 2xx, re-sent when the 2xx is retransmitted after its transaction ended. */
  private readonly ackGuard: UacAckRetransmitGuard;
  /** Where each remembered ACK went (the guard keeps the ACK; this keeps its next hop, collected with it). */
  private readonly ackTargets = new WeakMap<SipRequest, SipTarget>();

  constructor(opts: UserAgentOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.t1 = opts.T1 ?? 500;
    this.t2 = opts.T2 ?? 4000;
    this.log = opts.logger ?? silentLogger;
    this.hooks = opts.hooks ?? {};
    this.product = opts.product ?? 'ai-voice-sip-server';
    this.policy = {
      allow: new Set(CORE_METHODS),
      supported: new Set((opts.supported ?? DEFAULT_SUPPORTED).map((t) => t.toLowerCase())),
      acceptSession: new Set(['application/sdp']),
    };
    this.transactions = new TransactionLayer<SipTarget>({
      clock: opts.clock,
      send: (msg, target) => this.transmit(msg, target),
      tu: this,
      T1: opts.T1,
      T2: opts.T2,
      T4: opts.T4,
      cloneSource: (s) => s,
    });
    this.dialogs = new DialogManager({ clock: opts.clock, t1: this.t1 });
    this.ackGuard = new UacAckRetransmitGuard({ clock: opts.clock, t1: this.t1 });
    for (const [t, port] of Object.entries(opts.ports) as [TransportProtocol, number][]) {
      const param = t === 'UDP' ? '' : `;transport=${t.toLowerCase()}`;
      this.contacts.set(t, `<sip:${opts.publicHost}:${port}${param}>`);
    }
  }

  /** Serve an out-of-dialog method (MESSAGE, REGISTER, SUBSCRIBE, ...); it is then listed in Allow. */
  handle(method: string, handler: RequestHandler): void {
    this.handlers.set(method, handler);
    this.policy.allow.add(method);
  }

  get allowHeader(): string {
    return [...this.policy.allow].join(', ');
  }
  get supportedHeader(): string {
    return [...this.policy.supported].join(', ');
  }
  supportsOptionTag(tag: string): boolean {
    return this.policy.supported.has(tag.toLowerCase());
  }
  /** Address written in Via, Contact and generated Call-IDs. */
  get publicHost(): string {
    return this.opts.publicHost;
  }
  /** Live INVITE sessions (UAS and UAC). */
  get sessionCount(): number {
    return new Set([...this.sessions.values(), ...this.clientInvites]).size + this.pendingInvites.size;
  }

  // ---- UAC ----------------------------------------------------------------------------------------------------

  /**
   * Place an outbound call (RFC 3261 §13.2). The session is returned at once; attach listeners (`provisional`,
   * `answered`, `failed`, `ended`) before the current tick ends: the INVITE leaves on the next one.
   */
  invite(opts: InviteOptions): ClientInviteSession {
    if (this.closed) throw new InvalidStateError('the user agent is closed');
    const session = new ClientInviteSession(this, opts);
    this.clientInvites.add(session);
    queueMicrotask(() => {
      if (!session.isEnded) session.start();
    });
    return session;
  }

  /**
   * Send a request outside any dialog (OPTIONS, REGISTER, MESSAGE...) and resolve with its final response, after
   * answering 401/407 with `opts.credentials`. Rejects with SipRequestError when no final response comes.
   */
  request(method: string, uri: string | SipUri, opts: OutOfDialogRequestOptions = {}): Promise<SipResponse> {
    if (this.closed) return Promise.reject(new InvalidStateError('the user agent is closed'));
    return sendOutOfDialogRequest(this, method, uri, opts);
  }

  /** @internal In-dialog requests of `dialog` go to `session` until the dialog terminates. */
  attachDialog(session: InviteSession, dialog: Dialog): void {
    const key = dialogIdKey(dialog.id);
    if (this.sessions.get(key) === session || dialog.state === 'Terminated') return;
    this.sessions.set(key, session);
    dialog.once('terminated', () => {
      if (this.sessions.get(key) === session) this.sessions.delete(key);
      this.ackGuard.forgetDialog(dialog.id.callId, dialog.id.localTag, dialog.id.remoteTag);
    });
  }

  /** @internal RFC 3261 §13.2.2.4: send the ACK for a 2xx statelessly along the dialog's route and remember it. */
  sendAck(dialog: Dialog, ack: SipRequest): void {
    const send = (target: SipTarget): void => {
      this.ackTargets.set(ack, target);
      this.ackGuard.remember(ack);
      if (this.closed) return;
      this.transactions.sendStateless(ack, target).catch((err: Error) => this.log.debug({ err, callId: ack.callId }, 'ACK not sent'));
    };
    const hop = this.nextHopUri(dialog, ack.uri);
    const literal = uriTargetIfLiteral(hop);
    if (literal) {
      send(literal);
      return;
    }
    resolveUriTarget(hop)
      .then(send)
      .catch((err: Error) => this.log.warn({ err, callId: ack.callId }, 'cannot resolve ACK target'));
  }

  // ---- input ------------------------------------------------------------------------------------------------

  /** Input from the transport layer: one complete message. Never throws. */
  receive(data: Buffer, source: MessageSource): void {
    if (this.closed) return;
    let verdict: 'accept' | 'deny' | 'drop' = 'accept';
    const ingress = this.opts.ingress;
    if (ingress) {
      // A response starts with "SIP/2.0 "; anything else is treated as a request for the allow-list and flood count.
      const isRequest = !(data.length > 8 && data[0] === 0x53 && data[1] === 0x49 && data[2] === 0x50 && data[3] === 0x2f);
      verdict = ingress.check(source.address, isRequest);
      if (verdict === 'drop') {
        this.hooks.dropped?.('flood');
        return;
      }
    }
    const parsed = parseMessage(data, { datagram: source.transport === 'UDP', maxSize: this.opts.maxMessageSize });
    const target = targetOfSource(source);
    if (verdict === 'deny') {
      // Outside SIP_ALLOWED_CIDRS: 403 when the request can be answered (never an ACK), else silence.
      this.hooks.dropped?.('acl');
      if (parsed.ok && parsed.msg.isRequest && (parsed.msg as SipRequest).method !== 'ACK') {
        const req = parsed.msg as SipRequest;
        const rt = responseTargetOf(req.via, target);
        if (rt) this.transmit(createResponse(req, 403, 'Forbidden (Source Not Allowed)', { toTag: generateTag() }), rt).catch(() => undefined);
      }
      return;
    }
    if (!parsed.ok) {
      this.parseFailed(parsed.error, target);
      return;
    }
    const msg = parsed.msg;
    try {
      if (msg.isRequest) {
        const req = msg as SipRequest;
        this.hooks.message?.('in', req.method, undefined);
        const rewritten = receivedViaRewrite(req, target, formatVia);
        if (rewritten !== undefined) {
          const vias = req.getHeaders('Via');
          vias[0] = rewritten;
          req.setHeader('Via', vias);
        }
        if (req.method === 'INVITE' && this.opts.overload?.overloaded === true && this.shedInvite(req, target)) return;
        this.transactions.receiveRequest(req, target);
        this.admittedInvite = undefined;
      } else {
        const res = msg as SipResponse;
        this.hooks.message?.('in', cseqMethodOf(res) ?? 'OTHER', res.status);
        this.transactions.receiveResponse(res, target);
      }
    } catch (err) {
      // A bug must not take the socket handler down: log with the Call-ID and drop.
      this.log.error({ err, callId: safeCallId(msg), source: `${source.address}:${source.port}` }, 'failed to process SIP message');
    }
  }

  /**
   * A stream message larger than the limit (RFC 3261 §18.3, §21.4.11): the transport hands us its header section before
   * it closes the connection; answer 413 on that connection when the request can be read, so the peer learns why.
   */
  answerOversize(head: Buffer, source: MessageSource): boolean {
    const parsed = parseMessage(head, { datagram: true, maxSize: head.length + 1 });
    const req = parsed.ok ? (parsed.msg.isRequest ? (parsed.msg as SipRequest) : undefined) : parsed.error.request;
    if (!req || req.method === 'ACK') return false;
    try {
      const target = targetOfSource(source);
      const res = createResponse(req, 413, 'Request Entity Too Large', { toTag: generateTag() });
      this.transmit(res, responseTargetOf(req.via, target) ?? target).catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Overload control for a new INVITE (no To tag, no transaction yet): refused with 503 + Retry-After statelessly
   * (RFC 3261 §8.2.6, §21.5.4, §20.33), before a transaction, a dialog, a call or a CDR exists, so that refusing costs
   * little more than parsing. The caller's ACK for the 503 then matches nothing and is dropped (§17.2.3), and a
   * retransmitted INVITE is simply refused again. An INVITE whose transaction exists (a retransmission of a call
   * admitted before the overload began) goes to that transaction. True when the INVITE was refused.
   */
  private shedInvite(req: SipRequest, target: SipTarget): boolean {
    const overload = this.opts.overload;
    if (overload === undefined || req.toTag !== undefined) return false;
    try {
      if (this.transactions.findInviteServerTransaction(req) !== undefined) return false;
    } catch {
      return false;
    }
    const retryAfter = overload.check(req.method);
    if (retryAfter === undefined) {
      // Admitted (a share of new calls is while overloaded): onRequest must not ask the detector a second time.
      this.admittedInvite = req;
      return false;
    }
    this.hooks.rejected?.(req.method, 503);
    const res = createResponse(req, 503, 'Service Unavailable (Overloaded)', { toTag: generateTag(), headers: [['Retry-After', String(retryAfter)]] });
    this.transactions.sendStateless(res, responseTargetOf(req.via, target) ?? target).catch(() => undefined);
    return true;
  }

  private parseFailed(error: SipParseError, source: SipTarget): void {
    const req = error.request;
    let answered = false;
    // DESIGN.md: a malformed request whose Via can be read gets 400 naming the header; otherwise drop and count.
    // An ACK is never answered (RFC 3261 §17.1.1.3).
    if (req && req.method !== 'ACK') {
      try {
        const res = buildErrorResponse(error);
        const target = res ? responseTargetOf(req.via, source) : undefined;
        if (res && target) {
          this.transmit(res, target).catch(() => undefined);
          answered = true;
        }
      } catch {
        answered = false;
      }
    }
    this.hooks.parseError?.(error.code, { address: source.address, port: source.port, transport: source.transport }, answered);
    this.log.debug({ code: error.code, header: error.header, source: `${source.transport}:${source.address}:${source.port}`, answered }, 'unparseable SIP message');
  }

  // ---- TransactionUser ----------------------------------------------------------------------------------------

  onRequest(tx: ServerTransaction<SipTarget>, req: SipRequest, source: SipTarget): void {
    tx.responseTarget = responseTargetOf(req.via, source) ?? source;
    const refusal = checkRequest(req, this.policy);
    if (refusal) {
      this.hooks.rejected?.(req.method, refusal.status);
      tx.respond(createResponse(req, refusal.status, refusal.reason, { headers: refusal.headers }));
      return;
    }
    if (req.method === 'CANCEL') {
      this.handleCancel(tx, req);
      return;
    }
    const match = this.dialogs.matchRequest(req);
    if (match.kind === 'dialog') {
      this.handleInDialog(tx, req, match.dialog);
      return;
    }
    if (match.kind === 'unknown') {
      if (match.answer) this.refuse(tx, req, 481);
      return;
    }
    // Out of dialog. §8.2.2.2: a request carrying our own Via (it came back to us) or merging with an INVITE in
    // progress (same From tag, Call-ID, CSeq, other branch) is a loop or a merged request: 482.
    if (this.isLoop(req)) {
      this.refuse(tx, req, 482, 'Loop Detected');
      return;
    }
    // Overload control (RFC 3261 §21.5.4): while overloaded a new call gets 503 with Retry-After (§20.33) before any
    // call, media or database work, so calls in progress keep their quality (a new INVITE is mostly refused
    // statelessly in `receive`, see shedInvite; this check counts every other new INVITE and OPTIONS for the detector
    // and refuses what reaches it while overloaded); in-dialog requests, ACK, BYE and CANCEL, which finish existing
    // work, were dispatched above and are never refused. OPTIONS gets the same 503: §11.2 says its answer MUST be the
    // one an INVITE would get, and a proxy probing us with OPTIONS should send new calls elsewhere until we recover
    // (a 503 also shows it that we are alive; HTTP /health stays 200).
    const admitted = this.admittedInvite === req;
    this.admittedInvite = undefined;
    if (this.opts.overload && !admitted && (req.method === 'INVITE' || req.method === 'OPTIONS')) {
      const retryAfter = this.opts.overload.check(req.method);
      if (retryAfter !== undefined) {
        // §8.2.6.2: a final response to a request without a To tag carries one of ours.
        this.hooks.rejected?.(req.method, 503);
        tx.respond(createResponse(req, 503, 'Service Unavailable (Overloaded)', { toTag: generateTag(), headers: [['Retry-After', String(retryAfter)]] }));
        return;
      }
    }
    switch (req.method) {
      case 'INVITE':
        this.handleInvite(tx, req, source);
        return;
      case 'OPTIONS':
        tx.respond(
          createResponse(req, 200, undefined, {
            headers: [
              ['Allow', this.allowHeader],
              ['Accept', 'application/sdp'],
              ['Accept-Encoding', 'identity'],
              ['Supported', this.supportedHeader],
              ['Server', this.product],
            ],
          }),
        );
        return;
      case 'BYE':
      case 'PRACK':
      case 'UPDATE':
      case 'INFO':
        // Outside a dialog these only make sense inside one (RFC 3261 §15, RFC 3262, RFC 3311, RFC 6086).
        this.refuse(tx, req, 481);
        return;
      default: {
        const handler = this.handlers.get(req.method);
        if (!handler) {
          this.refuse(tx, req, 405, undefined, [['Allow', this.allowHeader]]);
          return;
        }
        let done = false;
        handler({
          request: req,
          source,
          respond: (status, o = {}) => {
            if (done) return;
            done = true;
            tx.respond(createResponse(req, status, o.reason, { headers: o.headers, body: o.body, contentType: o.contentType }));
          },
        });
      }
    }
  }

  onAck(req: SipRequest): void {
    const match = this.dialogs.matchRequest(req);
    if (match.kind !== 'dialog') return; // §17.2.3: a stray ACK is dropped silently
    this.sessions.get(dialogIdKey(match.dialog.id))?.handleAck(req);
  }

  onStrayResponse(res: SipResponse): void {
    // RFC 3261 §13.2.2.4: a 2xx retransmitted after our INVITE transaction ended gets the same ACK again.
    const ack = this.ackGuard.ackFor(res);
    const target = ack ? this.ackTargets.get(ack) : undefined;
    if (ack && target) {
      this.transactions.sendStateless(ack, target).catch(() => undefined);
      return;
    }
    this.log.debug({ callId: safeCallId(res), status: res.status }, 'response matched no transaction');
  }

  onTransactionFailure(tx: ServerTransaction<SipTarget>): void {
    const s = this.pendingInvites.get(tx);
    if (s) this.pendingInvites.delete(tx);
  }

  // ---- request handling ---------------------------------------------------------------------------------------

  private refuse(tx: ServerTransaction<SipTarget>, req: SipRequest, status: number, reason?: string, headers: [string, string][] = []): void {
    this.hooks.rejected?.(req.method, status);
    tx.respond(createResponse(req, status, reason, { headers }));
  }

  private isLoop(req: SipRequest): boolean {
    if (req.method === 'INVITE') {
      const key = mergeKey(req);
      if (this.inviteKeys.has(key) && this.inviteKeys.get(key) !== req.branch) return true;
    }
    const vias = req.vias;
    if (vias.length < 2) return false;
    for (let i = 1; i < vias.length; i++) {
      const v = vias[i];
      const port = this.opts.ports[v.transport as TransportProtocol];
      if (v.host === this.opts.publicHost && port !== undefined && (v.port ?? 5060) === port && v.branch?.startsWith(BRANCH_PREFIX)) return true;
    }
    return false;
  }

  private handleInvite(tx: ServerTransaction<SipTarget>, req: SipRequest, source: SipTarget): void {
    const session = new ServerInviteSession(this, tx, req, source);
    const key = mergeKey(req);
    this.inviteKeys.set(key, req.branch);
    this.pendingInvites.set(tx, session);
    session.once('ended', () => {
      this.pendingInvites.delete(tx);
      this.inviteKeys.delete(key);
    });
    session.on('confirmed', () => {
      this.pendingInvites.delete(tx);
      this.inviteKeys.delete(key);
    });
    // The dialog exists from the first response with a tag; register the session under it then.
    const register = (): void => {
      if (session.dialog && !session.isEnded) this.sessions.set(dialogIdKey(session.dialog.id), session);
    };
    const origProgress = session.progress.bind(session);
    const origAccept = session.accept.bind(session);
    session.progress = (status?: number, o?: ResponseOptions) => {
      origProgress(status, o);
      register();
    };
    session.accept = (o?: ResponseOptions, status?: number) => {
      origAccept(o, status);
      register();
    };
    const app = this.onInvite;
    if (!app) {
      session.reject(480, { reason: 'No Route' });
      return;
    }
    try {
      app(session);
    } catch (err) {
      this.log.error({ err, callId: req.callId }, 'INVITE handler failed');
      if (!session.isEnded && session.finalResponse === undefined) session.reject(500);
    }
  }

  private handleCancel(tx: ServerTransaction<SipTarget>, req: SipRequest): void {
    const inviteTx = this.transactions.findInviteServerTransaction(req);
    if (!inviteTx) {
      // §9.2: "If the UAS did not find a matching transaction for the CANCEL ... it SHOULD respond to the CANCEL
      // with a 481 (Call Leg/Transaction Does Not Exist)."
      this.refuse(tx, req, 481);
      return;
    }
    // §9.2: a CANCEL matching a transaction is answered by the UAS itself with 200, with the To tag of our responses
    // to the INVITE. That holds also once the INVITE has its final response (the transaction lingers in Completed,
    // Confirmed or Accepted, RFC 6026 §7.1): then the CANCEL has no effect on the INVITE. Before the final response
    // the INVITE gets 487.
    const session = this.pendingInvites.get(inviteTx);
    const toTag = session?.localTag ?? inviteTx.finalToTag ?? inviteTx.lastResponse?.toTag;
    tx.respond(createResponse(req, 200, undefined, { toTag }));
    session?.cancel();
  }

  private handleInDialog(tx: ServerTransaction<SipTarget>, req: SipRequest, dialog: Dialog): void {
    const verdict = dialog.validateIncomingRequest(req);
    if (!verdict.ok) {
      this.refuse(tx, req, verdict.status, verdict.reason, verdict.headers);
      return;
    }
    const session = this.sessions.get(dialogIdKey(dialog.id));
    if (!session) {
      this.refuse(tx, req, 481);
      return;
    }
    session.handleInDialogRequest(tx, req);
  }

  // ---- output -------------------------------------------------------------------------------------------------

  /** Serialize and send; the promise rejects on a transport error. */
  async transmit(msg: SipRequest | SipResponse, target: SipTarget): Promise<void> {
    const hook = this.hooks.message;
    if (hook) {
      if (msg.isRequest) hook('out', (msg as SipRequest).method, undefined);
      else hook('out', cseqMethodOf(msg) ?? 'OTHER', (msg as SipResponse).status);
    }
    await this.opts.send(target, msg.serialize());
  }

  transmitResponse(res: SipResponse, target: SipTarget): void {
    this.transmit(res, target).catch(() => undefined);
  }

  contactFor(transport: TransportProtocol): string {
    return this.contacts.get(transport) ?? this.contacts.get('UDP') ?? `<sip:${this.opts.publicHost}>`;
  }

  viaFor(transport: TransportProtocol): string {
    const port = this.opts.ports[transport] ?? this.opts.ports.UDP ?? 5060;
    return `SIP/2.0/${transport} ${this.opts.publicHost}:${port};branch=${BRANCH_PREFIX}${generateBranch().slice(7)};rport`;
  }

  /** Send a request outside any transaction we track for a dialog (OPTIONS pings, MESSAGE, REGISTER, INVITE). */
  sendRequest(req: SipRequest, target: SipTarget, handlers: ClientTransactionHandlers<SipTarget>): ClientTransaction<SipTarget> {
    if (!req.hasHeader('Via')) req.prependHeader('Via', this.viaFor(target.transport));
    return this.dispatch(req, target, handlers);
  }

  /**
   * RFC 3261 §18.1.1: a request larger than 1300 bytes (path MTU 1500 minus 200) that would go over UDP goes over TCP
   * instead when we listen on TCP, with its top Via rewritten to say so. A request whose Via already says TCP (a CANCEL
   * built from such an INVITE, §9.1) follows it.
   */
  private dispatch(req: SipRequest, target: SipTarget, handlers: ClientTransactionHandlers<SipTarget>): ClientTransaction<SipTarget> {
    const tcpPort = this.opts.ports.TCP;
    if (target.transport === 'UDP' && tcpPort !== undefined) {
      const vias = req.getHeaders('Via');
      const top = vias[0] ?? '';
      if (/^SIP\/2\.0\/TCP\s/i.test(top)) {
        target = { ...target, transport: 'TCP' };
      } else if (shouldUseStream(req.serialize().length)) {
        const udpPort = this.opts.ports.UDP ?? 5060;
        vias[0] = top
          .replace(/^SIP\/2\.0\/UDP(\s+)/i, 'SIP/2.0/TCP$1')
          .replace(`${this.opts.publicHost}:${udpPort}`, `${this.opts.publicHost}:${tcpPort}`);
        req.setHeader('Via', vias);
        target = { ...target, transport: 'TCP' };
      }
    }
    return this.transactions.sendRequest(req, target, handlers);
  }

  sendInDialog(dialog: Dialog, req: SipRequest, handlers: ClientTransactionHandlers<SipTarget>): void {
    const uri = this.nextHopUri(dialog, req.uri);
    const literal = uriTargetIfLiteral(uri);
    if (literal) {
      this.dispatch(req, literal, handlers);
      return;
    }
    resolveUriTarget(uri)
      .then((target) => this.dispatch(req, target, handlers))
      .catch((err: Error) => this.log.warn({ err, callId: req.callId }, 'cannot resolve in-dialog target'));
  }

  /** RFC 3261 §12.2.1.1 / §8.1.2: the next hop is the first Route when loose routing, else the Request-URI. */
  private nextHopUri(dialog: Dialog, requestUri: SipUri): SipUri {
    const first = dialog.routeSet[0];
    return first && first.uri.params.has('lr') ? first.uri : requestUri;
  }

  sessionEnded(session: InviteSession): void {
    if (session instanceof ClientInviteSession) this.clientInvites.delete(session);
    if (session.dialog) {
      const key = dialogIdKey(session.dialog.id);
      if (this.sessions.get(key) === session) this.sessions.delete(key);
    }
  }

  /** Stop taking new work: ends every session (BYE for confirmed calls) and stops the transaction timers. */
  async close(graceMs = 0): Promise<void> {
    if (this.closed) return;
    for (const s of [...this.pendingInvites.values()]) if (!s.isEnded) s.reject(503, { headers: [['Retry-After', '5']] });
    for (const s of [...this.clientInvites]) s.shutdown();
    for (const s of [...this.sessions.values()]) s.shutdown();
    this.closed = true;
    if (graceMs > 0) {
      const until = Date.now() + graceMs;
      while (this.transactions.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    }
    this.transactions.close();
    this.dialogs.terminateAll('local');
    this.ackGuard.clear();
  }
}

/** Our branches start with the magic cookie plus a marker so loops through this server can be recognised. */
const BRANCH_PREFIX = 'z9hG4bKsv';

function mergeKey(req: SipRequest): string {
  const cseq = req.cseq;
  return `${req.fromTag ?? ''}|${req.callId}|${cseq.seq}`;
}

/** The CSeq method, or undefined when the header is unreadable (a 400 to a request without CSeq). */
function cseqMethodOf(msg: SipRequest | SipResponse): string | undefined {
  try {
    return msg.cseq.method;
  } catch {
    return undefined;
  }
}

function safeCallId(msg: SipRequest | SipResponse): string | undefined {
  try {
    return msg.callId;
  } catch {
    return undefined;
  }
}
