import { randomBytes } from 'node:crypto';
import { systemClock, type Clock, type TimerHandle } from '../util';
import { formatUri, type SipRequest } from '../sip/message';
import { DecoyHa1, DigestChallenger, type DigestAlgorithm } from '../sip/auth';
import type { IncomingRequest, SipTarget } from '../sip/ua';
import type { TransportProtocol } from '../sip/transport';
import { RegistrationRepository, SipUserRepository, type Database, type Queryable, type RegistrationBinding } from '../store';
import { planRegister, type ContactChange, type ExpiryBounds } from './register-plan';
import { SipUserDirectory } from './sip-user-directory';

/** How long a lookup that found no binding is remembered (ms), and how many such entries at most. */
const NEGATIVE_CACHE_MS = 2000;
const NEGATIVE_CACHE_MAX = 100_000;

/** Minimal logging surface (the observability logger satisfies it). */
export interface RegistrarLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: RegistrarLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface RegistrarOptions {
  /** Database handle: bindings and users live there, shared by every instance. */
  readonly db: Pick<Database, 'transaction'> & Queryable;
  /** Our SIP domain (SIP_DOMAIN): the digest realm and the host of canonical addresses of record. */
  readonly domain: string;
  /** Other hosts phones may register under (our public address...): treated as `domain`. */
  readonly aliases?: readonly string[];
  /** Nonce MAC key shared by every instance (SIP_REGISTRAR_SECRET); random when undefined. */
  readonly secret?: string | Buffer;
  /** This instance (registrations.instance_id). */
  readonly instanceId: string;
  readonly clock?: Clock;
  readonly logger?: RegistrarLogger;
  readonly expires: ExpiryBounds;
  /** Most bindings one address of record may hold. Default 10. */
  readonly maxContactsPerAor?: number;
  /** How often expired bindings are deleted; 0 = never. Default 60 s. */
  readonly purgeIntervalMs?: number;
  /** Offered digest algorithms, strongest first (RFC 8760 §2.4). Default SHA-256, MD5. */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Nonce lifetime; older nonces get stale=true. Default 300 s. */
  readonly nonceTtlMs?: number;
}

/** A contact to ring for a registered user. */
export interface RegisteredContact {
  readonly aor: string;
  /** The Contact URI: the Request-URI of requests to it. */
  readonly uri: string;
  /**
   * Where to send: the source address and port the REGISTER came from over its transport (RFC 3581 symmetric
   * response routing, so phones behind NAT are reached through their pinhole), pinned to the TCP/TLS connection
   * when this instance holds it.
   */
  readonly target: SipTarget;
  /** True when this instance took the REGISTER (it holds the TCP/TLS connection, if any). */
  readonly local: boolean;
  readonly instanceId: string;
  readonly q: number | null;
  readonly expiresInS: number;
  readonly userAgent: string | null;
}

/** Counters since start. */
export interface RegistrarStats {
  registered: number;
  removed: number;
  queries: number;
  challenged: number;
  authFailed: number;
  refused: number;
}

type Outcome = { status: number; reason?: string; headers: [string, string][] };

class RegisterAbort extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const TRANSPORT_NAMES: Record<string, TransportProtocol> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

/**
 * The registrar for local SIP users (RFC 3261 §10.3): digest authentication against HA1s in sip_users (wrong
 * password and unknown user are answered alike, so users cannot be enumerated), multiple contacts per address of
 * record, expiry bounds with 423, `Contact: *` removal, refreshes with Call-ID/CSeq ordering, bindings in PostgreSQL
 * (any instance finds them) with the address and port the REGISTER came from. Serve it with
 * `ua.handle('REGISTER', (req) => registrar.handleRegister(req))`.
 */
export class Registrar {
  readonly users: SipUserDirectory;
  readonly challenger: DigestChallenger;
  private readonly clock: Clock;
  private readonly log: RegistrarLogger;
  private readonly domains: Set<string>;
  private readonly maxContacts: number;
  private readonly bindings: RegistrationRepository;
  /** Per hash, an HA1 no password produces: unknown users are verified against it, like a wrong password. */
  private readonly decoys = new DecoyHa1();
  private purgeTimer: TimerHandle | undefined;
  private closed = false;
  private readonly counters: RegistrarStats = { registered: 0, removed: 0, queries: 0, challenged: 0, authFailed: 0, refused: 0 };

  constructor(private readonly opts: RegistrarOptions) {
    const e = opts.expires;
    if (!(e.minS >= 1 && e.maxS >= e.minS && e.defaultS >= e.minS && e.defaultS <= e.maxS)) throw new TypeError('expiry bounds must satisfy 1 <= min <= default <= max');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silent;
    this.domains = new Set([opts.domain, ...(opts.aliases ?? [])].map((d) => d.toLowerCase()));
    this.maxContacts = opts.maxContactsPerAor ?? 10;
    this.challenger = new DigestChallenger({
      realm: opts.domain,
      secret: opts.secret ?? randomBytes(32),
      algorithms: opts.algorithms ?? ['SHA-256', 'MD5'],
      nonceTtlMs: opts.nonceTtlMs,
      clock: this.clock,
    });
    this.users = new SipUserDirectory(new SipUserRepository(opts.db), opts.domain);
    this.bindings = new RegistrationRepository(opts.db);
  }

  /** Start the periodic purge of expired bindings. */
  start(): void {
    const every = this.opts.purgeIntervalMs ?? 60_000;
    if (every <= 0 || this.closed || this.purgeTimer) return;
    const tick = (): void => {
      this.purgeTimer = this.clock.setTimeout(() => {
        this.purgeExpired()
          .catch((err: unknown) => this.log.warn({ err }, 'purging expired registrations failed'))
          .finally(() => {
            if (!this.closed) tick();
          });
      }, every);
    };
    tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.purgeTimer);
    this.purgeTimer = undefined;
  }

  stats(): RegistrarStats {
    return { ...this.counters };
  }

  /** The canonical address of record of a user of our domain. */
  aorOf(user: string): string {
    return `sip:${user}@${this.opts.domain}`;
  }

  /** Handler for `ua.handle('REGISTER', ...)`. Never throws; storage failures are answered 500. */
  handleRegister(req: IncomingRequest): void {
    this.unbound.clear();
    this.process(req.request, req.source).then(
      (o) => req.respond(o.status, { reason: o.reason, headers: o.headers }),
      (err: unknown) => {
        this.log.error({ err, callId: safeCallId(req.request) }, 'REGISTER failed');
        // RFC 3261 §21.5.1 with Retry-After: a database hiccup is temporary.
        req.respond(500, { reason: 'Server Internal Error', headers: [['Retry-After', '5']] });
      },
    );
  }

  /** Contacts to ring for a user of our domain, highest q first. */
  lookup(user: string): Promise<RegisteredContact[]> {
    return this.lookupAor(this.aorOf(user));
  }

  /**
   * Addresses of record found without bindings, remembered for NEGATIVE_CACHE_MS: call routing asks for every dialled
   * number that is no DID, and most of those are not phones. A REGISTER handled here clears the entry at once; one
   * handled by another instance is seen within NEGATIVE_CACHE_MS.
   */
  private readonly unbound = new Map<string, number>();

  async lookupAor(aor: string): Promise<RegisteredContact[]> {
    const until = this.unbound.get(aor);
    if (until !== undefined) {
      if (until > this.clock.now()) return [];
      this.unbound.delete(aor);
    }
    const rows = await this.bindings.listByAor(aor);
    if (rows.length === 0) {
      if (this.unbound.size >= NEGATIVE_CACHE_MAX) this.unbound.clear();
      this.unbound.set(aor, this.clock.now() + NEGATIVE_CACHE_MS);
    }
    const out: RegisteredContact[] = [];
    for (const b of rows) {
      const c = this.contactOf(b);
      if (c) out.push(c);
    }
    return out;
  }

  /** Delete expired bindings now; returns how many. */
  purgeExpired(): Promise<number> {
    return this.bindings.purgeExpired();
  }

  /** A TCP/TLS connection of this instance closed: its bindings cannot be reached any more (RFC 5626 §5.3 idea). */
  connectionClosed(connectionId: number): Promise<number> {
    return this.bindings.removeByConnection(this.opts.instanceId, connectionId);
  }

  // ---- REGISTER processing (RFC 3261 §10.3) --------------------------------------------------------------------

  private async process(req: SipRequest, source: SipTarget): Promise<Outcome> {
    // Step 4: the address of record is the To URI; it must be in our domain.
    let toUser: string | undefined;
    let toHost: string;
    try {
      const to = req.to.uri;
      if (to.scheme !== 'sip' && to.scheme !== 'sips') return this.refuse(404, 'Not Found');
      toUser = to.user;
      toHost = to.host.toLowerCase();
    } catch {
      return this.refuse(400, 'Malformed To');
    }
    if (!this.domains.has(toHost) || !toUser) return this.refuse(404, 'Not Found');

    // Step 3: authenticate. Unknown users are verified against a decoy HA1 so they fail exactly like a wrong password.
    const verdict = await this.challenger.authenticate(req, { method: 'REGISTER', uri: formatUri(req.uri) }, async (username, realm, algorithm) => {
      return (await this.users.ha1(username, realm, algorithm)) ?? this.decoys.of(algorithm);
    });
    if (!verdict.ok) {
      if (verdict.reason === 'malformed') return this.refuse(400, 'Malformed Authorization');
      if (verdict.reason === 'missing' || verdict.reason === 'stale') this.counters.challenged++;
      else this.counters.authFailed++;
      if (verdict.reason !== 'missing' && verdict.reason !== 'stale') {
        this.log.info({ username: verdict.username, reason: verdict.reason, source: `${source.address}:${source.port}` }, 'REGISTER authentication failed');
      }
      // RFC 3261 §22.4 / RFC 7616 §3.3: every failure gets a fresh challenge; stale=true only for an expired nonce.
      return { status: 401, headers: this.challenger.challenge({ stale: verdict.stale }).map((v): [string, string] => ['WWW-Authenticate', v]) };
    }
    // The authenticated user may only change its own bindings (§10.3 step 3, "authorized to modify").
    if (verdict.username !== toUser) return this.refuse(403, 'Forbidden');

    // Steps 6-7.
    const plan = planRegister(req, this.opts.expires);
    if (plan.kind === 'refuse') {
      this.counters.refused++;
      return { status: plan.status, reason: plan.reason, headers: plan.minExpires !== undefined ? [['Min-Expires', String(plan.minExpires)]] : [] };
    }
    const aor = this.aorOf(toUser);
    let callId: string;
    let cseq: number;
    try {
      callId = req.callId;
      cseq = req.cseq.seq;
    } catch {
      return this.refuse(400, 'Bad Request');
    }
    let current: RegistrationBinding[];
    try {
      current = await this.opts.db.transaction(async (tx) => {
        const repo = new RegistrationRepository(tx);
        await repo.lockAor(aor);
        const existing = await repo.listByAor(aor);
        if (plan.kind === 'query') return existing;
        if (plan.kind === 'remove-all') {
          for (const b of existing) checkOrder(b, callId, cseq);
          await repo.removeAll(aor);
          this.counters.removed += existing.length;
          return [];
        }
        const byContact = new Map(existing.map((b) => [b.contact, b]));
        for (const change of plan.contacts) {
          const old = byContact.get(change.uri);
          if (old) checkOrder(old, callId, cseq);
          if (change.expiresS === 0) {
            if (await repo.remove(aor, change.uri)) this.counters.removed++;
            byContact.delete(change.uri);
            continue;
          }
          if (!old && byContact.size >= this.maxContacts) throw new RegisterAbort(403, 'Too Many Contacts');
          byContact.set(change.uri, await repo.upsert(this.bindingOf(aor, change, req, source, callId, cseq)));
          this.counters.registered++;
        }
        return repo.listByAor(aor);
      });
    } catch (err) {
      if (err instanceof RegisterAbort) return this.refuse(err.status, err.reason);
      throw err;
    }
    if (plan.kind === 'query') this.counters.queries++;
    // Step 8: 200 OK with every current binding and its remaining interval, and a Date.
    const headers: [string, string][] = current.map((b): [string, string] => ['Contact', `${b.contactHeader ?? `<${b.contact}>`};expires=${b.expiresInS}`]);
    headers.push(['Date', new Date(this.clock.wallNow()).toUTCString()]);
    return { status: 200, headers };
  }

  private refuse(status: number, reason: string): Outcome {
    this.counters.refused++;
    return { status, reason, headers: [] };
  }


  private bindingOf(aor: string, c: ContactChange, req: SipRequest, source: SipTarget, callId: string, cseq: number): Parameters<RegistrationRepository['upsert']>[0] {
    return {
      aor,
      contact: c.uri,
      contactHeader: c.header,
      instanceId: this.opts.instanceId,
      callId,
      cseq,
      q: c.q,
      expiresS: c.expiresS,
      transport: source.transport.toLowerCase(),
      received: source.address,
      receivedPort: source.port,
      connectionId: source.connectionId ?? null,
      userAgent: req.getHeader('User-Agent') ?? null,
      sipInstance: c.sipInstance,
      regId: c.regId,
      path: req.getHeaders('Path'),
    };
  }

  private contactOf(b: RegistrationBinding): RegisteredContact | undefined {
    const transport = TRANSPORT_NAMES[b.transport ?? 'udp'] ?? 'UDP';
    if (b.received === null || b.receivedPort === null) return undefined;
    const local = b.instanceId === this.opts.instanceId;
    const target: SipTarget =
      local && b.connectionId !== null && transport !== 'UDP'
        ? { transport, address: b.received, port: b.receivedPort, connectionId: b.connectionId }
        : { transport, address: b.received, port: b.receivedPort };
    return { aor: b.aor, uri: b.contact, target, local, instanceId: b.instanceId, q: b.q, expiresInS: b.expiresInS, userAgent: b.userAgent };
  }
}

/**
 * RFC 3261 §10.3 step 7: a binding created by the same Call-ID may only be changed by a higher CSeq (an older,
 * reordered REGISTER must not undo a newer one); a different Call-ID always may.
 */
function checkOrder(b: RegistrationBinding, callId: string, cseq: number): void {
  if (b.callId === callId && cseq <= b.cseq) throw new RegisterAbort(500, 'Out of Order');
}

function safeCallId(req: SipRequest): string | undefined {
  try {
    return req.callId;
  } catch {
    return undefined;
  }
}
