import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { systemClock, TypedEmitter, type Clock, type TimerHandle } from '../util';
import type { TrunkRecord, TrunkStatus } from '../store';
import type { DigestCredentials } from '../sip/auth';
import type { SipRequest } from '../sip/message';
import type { TransportProtocol } from '../sip/transport';
import { SipRequestError, type SipTarget } from '../sip/ua';
import { ChannelTracker, type TrunkChannel } from './channel-tracker';
import { isTrunkMiss, shouldFailover, type TrunkAttemptResult } from './failover';
import { InboundAuthenticator, type DigestInboundVerdict, type InboundAuthOptions, type InboundTrunkCredentials } from './inbound-authenticator';
import { InboundIdentifier, type InboundStats, type InboundVerdict } from './inbound-identifier';
import { dialStringFor, orderRoutes } from './route-selection';
import { TrunkHealth, type TrunkHealthStatus } from './trunk-health';
import { TrunkRegistration, type RegistrationSnapshot } from './trunk-registration';
import { silentTrunkLogger, type TrunkLogger, type TrunkRequester } from './trunk-requester';

/** Where trunk records come from (TrunkRepository satisfies it). */
export interface TrunkSource {
  list(): Promise<TrunkRecord[]>;
  /** Decrypted digest password, undefined when none is stored. */
  password(id: string): Promise<string | undefined>;
  /** Persist a reachability change so the API and other instances see it. */
  setStatus?(id: string, status: TrunkStatus): Promise<boolean>;
}

/** The trunk gauge of observability (metrics.trunks satisfies it). */
export interface TrunkGauge {
  setUp(trunkId: string, up: boolean): void;
  remove(trunkId: string): void;
}

/** Resolves a trunk's proxy host to a next hop and every address it has (for inbound identification). */
export type ProxyResolver = (host: string, port: number, transport: TransportProtocol) => Promise<{ target: SipTarget; addresses: string[] }>;

export interface TrunkRegistryOptions {
  readonly requester: TrunkRequester;
  readonly trunks: TrunkSource;
  readonly clock?: Clock;
  readonly logger?: TrunkLogger;
  readonly metrics?: TrunkGauge;
  /** OPTIONS ping interval; 0 = no pings. Default 30 s. */
  readonly optionsIntervalMs?: number;
  /** A ping unanswered this long is a miss (the transaction itself runs to Timer F). Default min(interval, 5 s). */
  readonly optionsTimeoutMs?: number;
  /** Consecutive misses that mark a trunk down. Default 3. */
  readonly downAfter?: number;
  /** Consecutive answers that bring it back. Default 2. */
  readonly upAfter?: number;
  /** Accept calls to our numbers from unknown sources. Default false. */
  readonly openInbound?: boolean;
  /**
   * Inbound identification by digest (realm SIP_DOMAIN unless the trunk has one, the registrar's nonce key and
   * algorithms): sources no trunk's address matches may answer a 407 with a trunk's username and password.
   * Undefined: addresses only.
   */
  readonly inboundAuth?: Omit<InboundAuthOptions, 'clock'>;
  readonly registerRetryBaseMs?: number;
  readonly registerRetryMaxMs?: number;
  readonly registerRefreshMarginS?: number;
  /** Bound on each de-registration at shutdown or delete. Default 3 s. */
  readonly deregisterTimeoutMs?: number;
  /**
   * Re-read the trunks this often even without `reload()` calls, so changes made through another instance's API
   * reach this one. 0 = never. Default 60 s.
   */
  readonly reloadIntervalMs?: number;
  /** Randomness of weighted route choice and backoff jitter. Default Math.random. */
  readonly random?: () => number;
  readonly resolve?: ProxyResolver;
}

/** Per-trunk live state for the API, `/api/config/status` and logs. Times are wall-clock ms. */
export interface TrunkStateSnapshot {
  readonly id: string;
  readonly name: string;
  readonly enabled: boolean;
  /** Overall: down when OPTIONS say so or the registration failed; up when it answers or is registered. */
  readonly status: TrunkStatus;
  readonly health: TrunkHealthStatus;
  /** null when the trunk does not register. */
  readonly registration: RegistrationSnapshot | null;
  readonly activeCalls: number;
  readonly maxConcurrentCalls: number | null;
  readonly lastPing: { readonly at: number; readonly result: TrunkAttemptResult } | null;
  /** Resolved proxy addresses. */
  readonly addresses: readonly string[];
}

/** Structurally the API's TrunkLiveState. */
export interface TrunkLiveView {
  status: TrunkStatus;
  registered?: boolean;
  activeCalls?: number;
  detail?: string;
}

/** One trunk to try for an outbound call, in failover order. */
export interface TrunkRoute {
  readonly trunk: TrunkRecord;
  /** Prefix that selected the trunk ('' = a trunk serving any number). */
  readonly matchedPrefix: string;
  /** The number after the trunk's strip/prefix rules. */
  readonly dialString: string;
  /** Request-URI of the INVITE: sip:<dialString>@<proxy>[:port][;transport=...]. */
  readonly requestUri: string;
  /** Resolved proxy (next hop); undefined when not resolved yet (then resolve the Request-URI). */
  readonly target: SipTarget | undefined;
  /** Answers the trunk's 401/407 (RFC 3261 §22.2); undefined when it has no username/password. */
  readonly credentials: DigestCredentials | undefined;
  /** Host for From (the trunk's from_domain, else its proxy). */
  readonly fromDomain: string;
  readonly callerId: string | null;
}

export interface ChooseOptions {
  /** Only this trunk (a number bound to a trunk); prefixes are not checked, health and channels are. */
  readonly trunkId?: string;
}

interface TrunkEntry {
  record: TrunkRecord;
  password: string | undefined;
  fingerprint: string;
  health: TrunkHealth;
  registration: TrunkRegistration | undefined;
  status: TrunkStatus;
  addresses: string[];
  target: SipTarget | undefined;
  pingTimer: TimerHandle | undefined;
  pingInFlight: boolean;
  lastPing: { at: number; result: TrunkAttemptResult } | null;
  retired: boolean;
}

export interface TrunkRegistryEvents {
  [event: string]: unknown[];
  /** A trunk's overall status changed. */
  statechange: [TrunkStateSnapshot];
}

const TRANSPORTS: Record<TrunkRecord['transport'], TransportProtocol> = { udp: 'UDP', tcp: 'TCP', tls: 'TLS' };

/** Everything that, when changed, needs a fresh registration and a fresh health history. */
function fingerprintOf(t: TrunkRecord, password: string | undefined): string {
  return JSON.stringify([
    t.enabled,
    t.proxyAddress,
    t.proxyPort,
    t.transport,
    t.username,
    password ?? null,
    t.realm,
    t.fromDomain,
    t.register,
    t.registerExpiresS,
  ]);
}

function hostPort(t: TrunkRecord): string {
  const host = isIP(t.proxyAddress) === 6 ? `[${t.proxyAddress}]` : t.proxyAddress;
  const defaultPort = t.transport === 'tls' ? 5061 : 5060;
  return t.proxyPort === defaultPort ? host : `${host}:${t.proxyPort}`;
}

function transportParam(t: TrunkRecord): string {
  return t.transport === 'udp' ? '' : `;transport=${t.transport}`;
}

/** RFC 3261 §25.1 user part: escape what is not unreserved / user-unreserved. */
function escapeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) => encodeURIComponent(c));
}

const defaultResolve: ProxyResolver = async (host, port, transport) => {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) return { target: { transport, address: bare, port }, addresses: [bare] };
  const all = await lookup(bare, { all: true });
  if (all.length === 0) throw new Error(`${host} has no address`);
  return { target: { transport, address: all[0].address, port, serverName: bare }, addresses: all.map((a) => a.address) };
};

/**
 * The trunks of this instance: loaded from the database and reloaded on change; outbound registration and OPTIONS
 * health per trunk; outbound route choice with channel accounting; inbound identification by source address, or by
 * digest credentials for sources no trunk owns.
 */
export class TrunkRegistry extends TypedEmitter<TrunkRegistryEvents> {
  private readonly clock: Clock;
  private readonly log: TrunkLogger;
  private readonly random: () => number;
  private readonly resolver: ProxyResolver;
  private readonly intervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly reloadIntervalMs: number;
  private readonly entries = new Map<string, TrunkEntry>();
  private readonly channels = new ChannelTracker();
  private readonly inbound: InboundIdentifier;
  private readonly inboundAuth: InboundAuthenticator | undefined;
  private reloadChain: Promise<void> = Promise.resolve();
  private reloadTimer: TimerHandle | undefined;
  private closed = false;
  private started = false;

  constructor(private readonly opts: TrunkRegistryOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentTrunkLogger;
    this.random = opts.random ?? Math.random;
    this.resolver = opts.resolve ?? defaultResolve;
    this.intervalMs = opts.optionsIntervalMs ?? 30_000;
    this.pingTimeoutMs = opts.optionsTimeoutMs ?? Math.min(this.intervalMs > 0 ? this.intervalMs : 5_000, 5_000);
    this.reloadIntervalMs = opts.reloadIntervalMs ?? 60_000;
    const auth = opts.inboundAuth ? new InboundAuthenticator({ ...opts.inboundAuth, clock: this.clock }) : undefined;
    this.inbound = new InboundIdentifier(opts.openInbound ?? false, auth);
    this.inboundAuth = auth;
  }

  /** Load the trunks and start registrations and pings. */
  async start(): Promise<void> {
    this.started = true;
    await this.reload();
    this.scheduleReload();
  }

  /**
   * Re-read the trunks (the API calls this after every create/update/delete): new trunks register and are pinged,
   * changed ones re-register, deleted or disabled ones are de-registered. Reloads run one at a time.
   */
  reload(): Promise<void> {
    const run = this.reloadChain.then(() => this.doReload());
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  /** Live state of every trunk, in route order. */
  states(): TrunkStateSnapshot[] {
    return this.sortedEntries().map((e) => this.snapshotOf(e));
  }

  state(id: string): TrunkStateSnapshot | undefined {
    const e = this.entries.get(id);
    return e ? this.snapshotOf(e) : undefined;
  }

  /** The API's view of one trunk (`trunkState` of createApi). */
  liveState(id: string): TrunkLiveView | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    const reg = e.registration?.snapshot();
    const view: TrunkLiveView = { status: e.status, activeCalls: this.channels.inUse(id) };
    if (reg) {
      view.registered = reg.state === 'registered';
      view.detail = reg.lastCode !== null ? `registration ${reg.state} (last ${reg.lastCode})` : `registration ${reg.state}`;
    } else if (e.lastPing) {
      view.detail = `health ${e.health.status} (last ping ${e.lastPing.result})`;
    }
    return view;
  }

  /** The loaded trunk records, in route order. */
  list(): TrunkRecord[] {
    return this.sortedEntries().map((e) => e.record);
  }

  get(id: string): TrunkRecord | undefined {
    return this.entries.get(id)?.record;
  }

  /**
   * Trunks to try for a call to `number`, in failover order: longest matching prefix, then priority, then weighted
   * random within equal priority. Disabled, outbound-less, down trunks and trunks at their channel limit are left
   * out. Take a channel with `acquire()` before sending the INVITE; on failure `shouldFailover()` says whether to
   * go on with the next route.
   */
  chooseTrunks(number: string, opts: ChooseOptions = {}): TrunkRoute[] {
    const usable: TrunkRecord[] = [];
    for (const e of this.entries.values()) {
      const t = e.record;
      if (opts.trunkId !== undefined && t.id !== opts.trunkId) continue;
      if (!t.enabled || !t.supportsOutbound || e.status === 'down') continue;
      if (!this.channels.hasRoom(t.id, t.maxConcurrentCalls)) continue;
      usable.push(opts.trunkId !== undefined ? { ...t, prefixes: [] } : t);
    }
    return orderRoutes(usable, number, this.random).map(({ trunk, prefix }) => {
      const e = this.entries.get(trunk.id) as TrunkEntry;
      return this.routeOf(e, number, prefix);
    });
  }

  /** Whether to try the next trunk after this result (408, 5xx, timeout: yes; 4xx/6xx: no). */
  shouldFailover(result: TrunkAttemptResult): boolean {
    return shouldFailover(result);
  }

  /** A channel on the trunk, or undefined when it is at max_concurrent_calls (or unknown). */
  acquire(trunkId: string): TrunkChannel | undefined {
    const e = this.entries.get(trunkId);
    if (!e) return undefined;
    return this.channels.acquire(trunkId, e.record.maxConcurrentCalls);
  }

  /** Calls in progress through a trunk on this instance. */
  activeCalls(trunkId: string): number {
    return this.channels.inUse(trunkId);
  }

  /** Tell the registry how an outbound attempt through a trunk ended: timeouts and 5xx count as health misses. */
  reportResult(trunkId: string, result: TrunkAttemptResult): void {
    const e = this.entries.get(trunkId);
    if (e && !e.retired) this.observe(e, result);
  }

  /** The trunk a request from `address` comes from (allowed CIDRs or resolved proxy address). */
  identify(address: string): TrunkRecord | undefined {
    return this.inbound.identify(address);
  }

  /**
   * Inbound policy for a request from `address` (RFC 3261 §21.4.4): a trunk's request is accepted as that trunk's;
   * an unknown source to one of our numbers is refused with 403 unless open inbound is configured. Counted.
   */
  checkInbound(address: string, toOurNumber = true): InboundVerdict {
    return this.inbound.check(address, toOurNumber);
  }

  /**
   * Whether a request from `address` must authenticate as a trunk by digest before routing (no trunk's address,
   * open inbound off, some inbound trunk with credentials). Not counted.
   */
  wantsDigest(address: string): boolean {
    return this.inbound.wantsDigest(address);
  }

  /**
   * The counted digest decision for a request to one of our numbers from a source no trunk's address matches
   * (RFC 3261 §22.3): that trunk's when the credentials verify with its password, 407 to challenge, 403 otherwise.
   */
  authenticate(request: SipRequest): DigestInboundVerdict {
    return this.inbound.authenticate(request);
  }

  inboundStats(): InboundStats {
    return this.inbound.stats();
  }

  /** Digest credentials of a trunk (for INVITE and MESSAGE challenges). */
  credentialsFor(trunkId: string): DigestCredentials | undefined {
    const e = this.entries.get(trunkId);
    return e ? credentialsOf(e) : undefined;
  }

  /** Stop pings and reloads, de-register every registered trunk (bounded), forget everything. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearTimeout(this.reloadTimer);
    await this.reloadChain;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.retire(e, true)));
    this.removeAllListeners();
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private sortedEntries(): TrunkEntry[] {
    return [...this.entries.values()].sort((a, b) => a.record.priority - b.record.priority || a.record.name.localeCompare(b.record.name));
  }

  private scheduleReload(): void {
    if (this.closed || this.reloadIntervalMs <= 0) return;
    this.reloadTimer = this.clock.setTimeout(() => {
      this.reload()
        .catch((err: unknown) => this.log.warn({ err }, 'periodic trunk reload failed'))
        .finally(() => this.scheduleReload());
    }, this.reloadIntervalMs);
  }

  private async doReload(): Promise<void> {
    if (this.closed) return;
    const records = await this.opts.trunks.list();
    const seen = new Set<string>();
    const retiring: Promise<void>[] = [];
    const fresh: TrunkEntry[] = [];
    for (const record of records) {
      seen.add(record.id);
      let password: string | undefined;
      if (record.hasPassword) {
        try {
          password = await this.opts.trunks.password(record.id);
        } catch (err) {
          // A key mismatch must not take every trunk down: this one runs without credentials and says so.
          this.log.error({ err, trunk: record.name }, 'cannot decrypt the trunk password (TRUNK_SECRET_KEY changed?)');
        }
      }
      const fingerprint = fingerprintOf(record, password);
      const old = this.entries.get(record.id);
      if (old && old.fingerprint === fingerprint) {
        old.record = record;
        old.password = password;
        continue;
      }
      if (old) {
        this.entries.delete(record.id);
        retiring.push(this.retire(old, true));
      }
      const entry: TrunkEntry = {
        record,
        password,
        fingerprint,
        health: new TrunkHealth({ downAfter: this.opts.downAfter ?? 3, upAfter: this.opts.upAfter ?? 2 }),
        registration: undefined,
        status: 'unknown',
        addresses: [],
        target: undefined,
        pingTimer: undefined,
        pingInFlight: false,
        lastPing: null,
        retired: false,
      };
      this.entries.set(record.id, entry);
      fresh.push(entry);
    }
    for (const [id, e] of [...this.entries]) {
      if (seen.has(id)) continue;
      this.entries.delete(id);
      retiring.push(this.retire(e, true));
      this.opts.metrics?.remove(id);
    }
    await Promise.all(retiring);
    // Re-resolve every proxy (DNS may have moved) so inbound identification follows it.
    await Promise.all([...this.entries.values()].map((e) => this.resolveEntry(e)));
    this.rebuildInbound();
    if (this.closed) return;
    for (const e of fresh) this.activate(e);
    if (fresh.length > 0 || retiring.length > 0) this.log.info({ trunks: this.entries.size, changed: fresh.length, removed: retiring.length }, 'trunks loaded');
  }

  private rebuildInbound(): void {
    const records = this.sortedEntries().map((e) => e.record);
    const addrs = new Map<string, string[]>();
    for (const e of this.entries.values()) addrs.set(e.record.id, e.addresses);
    this.inbound.rebuild(records, addrs);
    if (this.inboundAuth) {
      const credentials: InboundTrunkCredentials[] = [];
      for (const e of this.sortedEntries()) {
        const t = e.record;
        if (t.enabled && t.supportsInbound && t.username && e.password) credentials.push({ trunk: t, username: t.username, password: e.password });
      }
      this.inboundAuth.rebuild(credentials);
    }
  }

  private async resolveEntry(e: TrunkEntry): Promise<SipTarget> {
    const t = e.record;
    try {
      const r = await this.resolver(t.proxyAddress, t.proxyPort, TRANSPORTS[t.transport]);
      const changed = r.addresses.join(',') !== e.addresses.join(',');
      e.target = r.target;
      e.addresses = r.addresses;
      if (changed && this.started && !e.retired && this.entries.get(t.id) === e) this.rebuildInbound();
      return r.target;
    } catch (err) {
      this.log.warn({ err, trunk: t.name, proxy: t.proxyAddress }, 'cannot resolve the trunk proxy');
      throw err;
    }
  }

  /** Start registration and pings of a trunk just loaded. */
  private activate(e: TrunkEntry): void {
    const t = e.record;
    if (!t.enabled) return;
    if (t.register) {
      const credentials = credentialsOf(e);
      const domain = t.fromDomain ?? t.realm ?? hostPort(t);
      const user = t.username ?? 'anonymous';
      const transport = TRANSPORTS[t.transport];
      const contact = this.opts.requester.contactFor(transport).replace(/^<sip:/, `<sip:${escapeUser(user)}@`);
      e.registration = new TrunkRegistration(
        {
          // RFC 3261 §10.2: the Request-URI names the registrar's domain; the request goes to the trunk proxy.
          registrarUri: `sip:${domain}${transportParam(t)}`,
          aor: `sip:${escapeUser(user)}@${domain}`,
          contact,
          resolveTarget: () => (e.target && isIP(t.proxyAddress.replace(/^\[|\]$/g, '')) ? Promise.resolve(e.target) : this.resolveEntry(e)),
          credentials,
          expiresS: t.registerExpiresS,
        },
        {
          clock: this.clock,
          requester: this.opts.requester,
          logger: this.log,
          random: this.random,
          retryBaseMs: this.opts.registerRetryBaseMs,
          retryMaxMs: this.opts.registerRetryMaxMs,
          refreshMarginS: this.opts.registerRefreshMarginS,
          onChange: () => this.updateStatus(e),
          onResult: (result) => this.observe(e, result),
        },
      );
      e.registration.start();
    }
    if (this.intervalMs > 0) {
      // Spread the first pings over the interval so many trunks (and instances) do not ping in bursts.
      this.schedulePing(e, Math.floor(this.random() * Math.min(this.intervalMs, 1_000)));
    }
  }

  private async retire(e: TrunkEntry, deregister: boolean): Promise<void> {
    if (e.retired) return;
    e.retired = true;
    this.clock.clearTimeout(e.pingTimer);
    e.pingTimer = undefined;
    const reg = e.registration;
    if (reg) await reg.stop({ deregister, timeoutMs: this.opts.deregisterTimeoutMs ?? 3_000 });
  }

  private schedulePing(e: TrunkEntry, delayMs: number): void {
    if (this.closed || e.retired) return;
    e.pingTimer = this.clock.setTimeout(() => {
      e.pingTimer = undefined;
      this.schedulePing(e, this.intervalMs);
      void this.ping(e);
    }, delayMs);
  }

  /** One OPTIONS health ping (RFC 3261 §11.1). A ping still unanswered is not doubled. */
  private async ping(e: TrunkEntry): Promise<void> {
    if (e.pingInFlight || e.retired) return;
    e.pingInFlight = true;
    const t = e.record;
    let result: TrunkAttemptResult;
    let timer: TimerHandle | undefined;
    try {
      const target = await this.resolveEntry(e);
      const timeout = new Promise<'timeout'>((resolve) => (timer = this.clock.setTimeout(() => resolve('timeout'), this.pingTimeoutMs)));
      const from = t.username ? `<sip:${escapeUser(t.username)}@${t.fromDomain ?? this.opts.requester.publicHost}>` : undefined;
      const sent = this.opts.requester.request('OPTIONS', `sip:${hostPort(t)}${transportParam(t)}`, { target, ...(from ? { from } : {}), headers: [['Accept', 'application/sdp']] });
      const outcome = await Promise.race([sent, timeout]);
      if (outcome === 'timeout') sent.catch(() => undefined);
      result = outcome === 'timeout' ? 'timeout' : outcome.status;
    } catch (err) {
      result = err instanceof SipRequestError ? (err.code === 'SIP_REQUEST_TIMEOUT' ? 'timeout' : err.status) : 503;
    } finally {
      this.clock.clearTimeout(timer);
      e.pingInFlight = false;
    }
    if (e.retired) return;
    e.lastPing = { at: this.clock.wallNow(), result };
    this.observe(e, result);
  }

  private observe(e: TrunkEntry, result: TrunkAttemptResult): void {
    const changed = e.health.observe(!isTrunkMiss(result));
    if (changed) this.log.info({ trunk: e.record.name, health: changed, result }, 'trunk health changed');
    this.updateStatus(e);
  }

  private updateStatus(e: TrunkEntry): void {
    if (e.retired) return;
    const next = overallStatus(e.health.status, e.registration?.state);
    if (next === e.status) return;
    e.status = next;
    if (next !== 'unknown') this.opts.metrics?.setUp(e.record.id, next === 'up');
    this.opts.trunks
      .setStatus?.(e.record.id, next)
      .catch((err: unknown) => this.log.warn({ err, trunk: e.record.name }, 'cannot store the trunk status'));
    this.safeEmit('statechange', this.snapshotOf(e));
  }

  private snapshotOf(e: TrunkEntry): TrunkStateSnapshot {
    return {
      id: e.record.id,
      name: e.record.name,
      enabled: e.record.enabled,
      status: e.status,
      health: e.health.status,
      registration: e.registration ? e.registration.snapshot() : null,
      activeCalls: this.channels.inUse(e.record.id),
      maxConcurrentCalls: e.record.maxConcurrentCalls,
      lastPing: e.lastPing,
      addresses: [...e.addresses],
    };
  }

  private routeOf(e: TrunkEntry, number: string, prefix: string): TrunkRoute {
    const t = e.record;
    const dial = dialStringFor(t, number);
    return {
      trunk: t,
      matchedPrefix: prefix,
      dialString: dial,
      requestUri: `sip:${escapeUser(dial)}@${hostPort(t)}${transportParam(t)}`,
      target: e.target,
      credentials: credentialsOf(e),
      fromDomain: t.fromDomain ?? t.proxyAddress,
      callerId: t.callerId,
    };
  }
}

function credentialsOf(e: TrunkEntry): DigestCredentials | undefined {
  const t = e.record;
  if (!t.username || e.password === undefined) return undefined;
  return t.realm ? { username: t.username, password: e.password, realm: t.realm } : { username: t.username, password: e.password };
}

/**
 * A trunk is down when its pings (or calls) say so, or when its registration failed (the provider will not route
 * inbound calls to us and usually refuses our outbound ones too); up when it answers or is registered.
 */
export function overallStatus(health: TrunkHealthStatus, registration: TrunkRegistration['state'] | undefined): TrunkStatus {
  if (health === 'down') return 'down';
  if (registration === 'failed') return 'down';
  if (health === 'up' || registration === 'registered') return 'up';
  return 'unknown';
}
