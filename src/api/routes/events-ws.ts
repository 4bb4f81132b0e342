import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { Call, CallEnding, CallStore, CdrStart, JsonObject, JsonValue } from '../../call';
import type { JwtVerifier, Principal } from '../jwt-verifier';
import { scopeAllows } from '../scopes';

/**
 * `/ws/events` on the API port: live call events (start, ringing, answer, hold, resume, transfer, dtmf,
 * transcript, ai-unavailable, end) and inbound SMS as JSON text frames, for dashboards and platforms that watch.
 *
 * Authentication is the API's JWT, in `Authorization: Bearer <jwt>` or, for browsers (which cannot set headers on
 * a WebSocket handshake), `?token=<jwt>`; the token needs scope `calls:read`. The socket closes when the token
 * expires. Query filters: `call_id=<id>` (one call), `events=start,end` (event names).
 *
 * Every frame is `{"event": <name>, "timestamp": <ISO 8601>, "call_id"?: ..., ...fields}`. A client that reads
 * too slowly loses events (counted in `dropped`) rather than growing our memory.
 */
export interface LiveEvent {
  event: string;
  call_id?: string;
  [field: string]: JsonValue | undefined;
}

export interface EventsWsOptions {
  /** Path of the endpoint (default `/ws/events`). */
  path?: string;
  /** Most concurrent subscribers (default 1000); beyond it handshakes get 503. */
  maxClients?: number;
  /** Unsent bytes a client may have before events are dropped for it (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Keep-alive ping interval (default 30 s): a client that missed a pong is dropped. */
  pingIntervalMs?: number;
  /** Seconds since the epoch (token expiry); injectable for tests. */
  now?: () => number;
}

/** Who may subscribe: the API's token verifier and address allow-list. */
export interface EventsWsAccess {
  /** Token verification; undefined = every handshake is refused (401), like the REST API. */
  verifier: JwtVerifier | undefined;
  /** API_ALLOWED_CIDRS check on the client address; undefined = any. */
  isAllowed?: (address: string) => boolean;
}

interface Subscriber {
  ws: WebSocket;
  principal: Principal;
  callId: string | undefined;
  events: ReadonlySet<string> | undefined;
  /** SMS text is only shown to holders of sms:read. */
  smsText: boolean;
  alive: boolean;
  expiry: NodeJS.Timeout | undefined;
}

const DEFAULT_PATH = '/ws/events';
const STATUS_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };
/** RFC 6455 §7.4.1: 1008 = policy violation (the token expired), 1001 = going away (shutdown). */
const CLOSE_POLICY = 1008;
const CLOSE_GOING_AWAY = 1001;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The live event hub and its WebSocket endpoint. Call control is observed, not changed: `observeCallStore` wraps the
 * CallStore handed to the CallManager and, as each call's CDR is created, subscribes to that live Call's events.
 */
export class CallEventStream {
  private readonly subscribers = new Set<Subscriber>();
  private wss: WebSocketServer | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private droppedValue = 0;
  private readonly followed = new WeakSet<Call>();
  private publishedValue = 0;
  private readonly opts: Required<EventsWsOptions>;
  private access: EventsWsAccess = { verifier: undefined };

  constructor(opts: EventsWsOptions = {}) {
    this.opts = {
      path: DEFAULT_PATH,
      maxClients: 1000,
      maxBufferedBytes: 1024 * 1024,
      pingIntervalMs: 30_000,
      now: () => Math.floor(Date.now() / 1000),
      ...opts,
    };
  }

  /** Connected subscribers. */
  get clients(): number {
    return this.subscribers.size;
  }

  /** Events not delivered to a slow subscriber. */
  get dropped(): number {
    return this.droppedValue;
  }

  /** Events published (whether anyone listened). */
  get published(): number {
    return this.publishedValue;
  }

  /** Serve the endpoint on `http` (the API server): handles the upgrade of its path, leaves other paths alone. */
  attach(http: HttpServer, access: EventsWsAccess): void {
    if (this.wss) throw new TypeError('CallEventStream is already attached');
    this.access = access;
    // Clients only listen: their frames are ignored, so a small payload bound keeps them cheap.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(http, req, socket, head));
    if (this.opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.heartbeat(), this.opts.pingIntervalMs);
      this.pingTimer.unref();
    }
  }

  /** Close every subscriber (shutdown). */
  close(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    for (const s of this.subscribers) {
      clearTimeout(s.expiry);
      s.ws.close(CLOSE_GOING_AWAY, 'server shutting down');
      s.ws.terminate();
    }
    this.subscribers.clear();
    this.wss?.close();
    this.wss = undefined;
  }

  /** Send an event to every subscriber whose filters match. */
  publish(ev: LiveEvent): void {
    this.publishedValue++;
    if (this.subscribers.size === 0) return;
    let text: string | undefined;
    let redacted: string | undefined;
    for (const s of this.subscribers) {
      if (s.callId !== undefined && ev.call_id !== s.callId) continue;
      if (s.events !== undefined && !s.events.has(ev.event)) continue;
      if (s.ws.readyState !== WebSocket.OPEN) continue;
      if (s.ws.bufferedAmount > this.opts.maxBufferedBytes) {
        this.droppedValue++;
        continue;
      }
      let frame: string;
      if (ev.event === 'sms' && !s.smsText) {
        if (redacted === undefined) {
          const { message: _omitted, ...rest } = ev;
          redacted = JSON.stringify(rest);
        }
        frame = redacted;
      } else frame = text ??= JSON.stringify(ev);
      s.ws.send(frame);
    }
  }

  /** An inbound SMS (SmsService onInbound). */
  publishSms(sms: { id: string; from: string; to: string; body: string; segments?: number }): void {
    this.publish({ event: 'sms', timestamp: new Date().toISOString(), message_id: sms.id, from: sms.from, to: sms.to, message: sms.body, segments: sms.segments ?? 1 });
  }

  /**
   * Publish the life of `call` from now on: its start at once, then what already happened to it (ringing, answer,
   * the end: CDR writes may be batched, so the call can be a little ahead of us), then its events as they come.
   */
  followCall(call: Call): void {
    if (this.followed.has(call)) return;
    this.followed.add(call);
    const id = call.id;
    const at = (): string => new Date().toISOString();
    this.publish({ event: 'start', call_id: id, timestamp: new Date(call.startedAt).toISOString(), direction: call.direction, from: call.from, to: call.to });
    if (call.state === 'ringing') this.publish({ event: 'ringing', call_id: id, timestamp: at() });
    if (call.answeredAt !== undefined) {
      const ev: LiveEvent = { event: 'answer', call_id: id, timestamp: new Date(call.answeredAt).toISOString() };
      if (call.a.codec) ev['codec'] = call.a.codec;
      this.publish(ev);
    }
    if (call.isEnded && call.ending) {
      this.publishEnd(call, call.ending);
      return;
    }
    call.on('statechange', (from, to, data) => {
      const name = stateEvent(from, to);
      if (name === undefined || call.isEnded) return;
      const ev: LiveEvent = { event: name, call_id: id, timestamp: at() };
      if (name === 'answer' && call.a.codec) ev['codec'] = call.a.codec;
      copyFields(ev, data);
      this.publish(ev);
    });
    call.on('dtmf', (digit, source, leg) => this.publish({ event: 'dtmf', call_id: id, timestamp: at(), digit, source, leg }));
    call.on('event', (type, data) => {
      // The timeline entries a watcher acts on; the rest (SIP details) stay in call_events.
      if (type !== 'transcript' && type !== 'ai-unavailable' && type !== 'ai-lost' && type !== 'recording-started' && type !== 'recording-stopped') return;
      const ev: LiveEvent = { event: type, call_id: id, timestamp: at() };
      copyFields(ev, data);
      this.publish(ev);
    });
    call.once('ended', (ending) => this.publishEnd(call, ending));
  }

  private publishEnd(call: Call, ending: CallEnding): void {
    this.publish({
      event: 'end',
      call_id: call.id,
      timestamp: new Date(call.endedAt ?? Date.now()).toISOString(),
      state: ending.state,
      cause: ending.cause,
      side: ending.side,
      sip_code: ending.sipCode ?? null,
      duration: Math.round(call.talkSeconds() * 1000) / 1000,
    });
  }

  // ---- handshake -------------------------------------------------------------------------------------------------

  private onUpgrade(http: HttpServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      refuse(socket, 400, 'bad_request', 'unreadable request target');
      return;
    }
    if (url.pathname !== this.opts.path) {
      // Another component may serve this path; if nobody does, do not leave the client hanging.
      if (http.listenerCount('upgrade') <= 1) refuse(socket, 404, 'not_found', 'no such endpoint');
      return;
    }
    const wss = this.wss;
    if (!wss) {
      refuse(socket, 503, 'unavailable', 'the event stream is shutting down');
      return;
    }
    const address = req.socket.remoteAddress ?? '';
    const { verifier, isAllowed } = this.access;
    if (isAllowed && !isAllowed(address)) {
      refuse(socket, 403, 'forbidden_source', 'this client address may not use the API');
      return;
    }
    if (!verifier) {
      refuse(socket, 401, 'unauthorized', 'no API token key is configured');
      return;
    }
    const header = req.headers.authorization;
    const query = url.searchParams.get('token');
    const result = header !== undefined && header !== '' ? verifier.verifyAuthorization(header) : query !== null ? verifier.verify(query) : verifier.verifyAuthorization(undefined);
    if (!result.ok) {
      refuse(socket, 401, result.code, result.message, { 'WWW-Authenticate': `Bearer error="invalid_token"` });
      return;
    }
    const principal = result.principal;
    if (!scopeAllows(principal.scopes, 'calls:read')) {
      refuse(socket, 403, 'insufficient_scope', 'the token lacks scope calls:read');
      return;
    }
    if (this.subscribers.size >= this.opts.maxClients) {
      refuse(socket, 503, 'too_many_subscribers', 'too many event stream subscribers; retry later', { 'Retry-After': '5' });
      return;
    }
    const callId = url.searchParams.get('call_id') ?? undefined;
    const events = url.searchParams.get('events');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sub: Subscriber = {
        ws,
        principal,
        callId: callId !== undefined && callId !== '' ? callId.slice(0, 256) : undefined,
        events: events ? new Set(events.split(',').map((e) => e.trim()).filter((e) => e !== '')) : undefined,
        smsText: scopeAllows(principal.scopes, 'sms:read'),
        alive: true,
        expiry: undefined,
      };
      this.addSubscriber(sub);
    });
  }

  private addSubscriber(sub: Subscriber): void {
    const ws = sub.ws;
    this.subscribers.add(sub);
    const remove = (): void => {
      clearTimeout(sub.expiry);
      this.subscribers.delete(sub);
    };
    ws.on('close', remove);
    ws.on('error', remove);
    ws.on('pong', () => (sub.alive = true));
    // Clients have nothing to say; what they send is ignored.
    ws.on('message', () => undefined);
    const ttlMs = (sub.principal.expiresAt - this.opts.now()) * 1000;
    sub.expiry = setTimeout(() => ws.close(CLOSE_POLICY, 'token expired'), Math.max(0, Math.min(ttlMs, MAX_TIMER_MS)));
    sub.expiry.unref();
    ws.send(JSON.stringify({ event: 'connected', timestamp: new Date().toISOString(), subject: sub.principal.subject }));
  }

  private heartbeat(): void {
    for (const s of this.subscribers) {
      if (!s.alive) {
        // RFC 6455 §5.5.2: a peer that stopped answering pings is gone (half-open TCP never closes by itself).
        s.ws.terminate();
        this.subscribers.delete(s);
        continue;
      }
      s.alive = false;
      try {
        s.ws.ping();
      } catch {
        // closing
      }
    }
  }
}

/** The live event for a state change; undefined for moves a watcher does not need. */
function stateEvent(from: string, to: string): string | undefined {
  switch (to) {
    case 'ringing':
      return 'ringing';
    case 'answered':
      return from === 'held' ? 'resume' : from === 'transferring' ? undefined : 'answer';
    case 'held':
      return 'hold';
    case 'transferring':
      return 'transfer';
    default:
      return undefined;
  }
}

function copyFields(ev: LiveEvent, data: JsonObject): void {
  for (const [k, v] of Object.entries(data)) if (!(k in ev)) ev[k] = v;
}

/** Answer a refused handshake with a JSON error (the REST API's shape) and close. */
function refuse(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message } });
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * `store` with call creation observed: each CDR insert (one by one, or in a batch) hands the new call's start to
 * `onCall`, so the event stream can follow the live call. Everything else is passed through unchanged.
 */
export function observeCallStore(store: CallStore, onCall: (start: CdrStart) => void): CallStore {
  const seen = (start: CdrStart | undefined): void => {
    if (start === undefined) return;
    try {
      onCall(start);
    } catch {
      // Watching must never break CDR writing.
    }
  };
  const createCdr = (start: CdrStart): Promise<void> => {
    seen(start);
    return store.createCdr(start);
  };
  const batch = store.writeCdrBatch;
  const writeCdrBatch =
    batch === undefined
      ? undefined
      : (sets: Parameters<NonNullable<CallStore['writeCdrBatch']>>[0]): Promise<void> => {
          for (const set of sets) seen(set.create);
          return batch.call(store, sets);
        };
  // A proxy rather than a copy of the interface: methods the store gains later pass through untouched.
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'createCdr') return createCdr;
      if (prop === 'writeCdrBatch') return writeCdrBatch;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
