import { createServer, type Server as HttpServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Config } from './config';
import { createLogger, createMetrics, HealthChecker, OverloadDetector, type Logger, type Metrics } from './observability';
import { openDatabase, migrate, type Database } from './store';
import { SipTransportLayer, type TransportPorts, type TransportProtocol } from './sip/transport';
import { IngressGuard, SipUserAgent, type ServerInviteSession } from './sip/ua';
import { DEFAULT_SESSION_INTERVAL, MIN_SE_FLOOR } from './sip/dialog';
import { RtpPortPool } from './rtp';
import { CallManager, CallStorePg, findMusicOnHold, WebhookNotifier, type CallControl } from './call';
import { wireInteractive } from './interactive-wiring';
import { MediaEngine, type MediaSession } from './media';
import { createApi, JwtVerifier } from './api';
import { CallEventStream, observeCallStore } from './api';
import { AiBridge, AiCallApp } from './bridge';
import { ConfigError } from './config';
import { blockListHas, cidrBlockList } from './config';
import { createRepositories, SecretCipher, TrunkRepository } from './store';
import { systemClock } from './util';
import { SipSmsSender, SmsService, gatewayRoute, gatewaySources, trunkRoute } from './sms';
import { createTrunkServices, type TrunkRegistry } from './trunks';
import { createRegistrar, type Registrar } from './registrar';

// The object graph of one server instance, built in dependency order (DESIGN.md "Wiring in one place").
// main.ts reads the configuration and signals; tests start the same graph in-process on ephemeral ports.

export interface RunningServer {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly db: Database;
  readonly ua: SipUserAgent;
  readonly transport: SipTransportLayer;
  /** Call control: active calls, originate, hold, transfer (the CallControl service). */
  readonly calls: CallManager;
  /** The `ai` route: AI sessions by call, Twilio CallSids, counters. */
  readonly ai: AiCallApp;
  /** SIP trunks: registrations, health, outbound routes, inbound identification. */
  readonly trunks: TrunkRegistry;
  /** The registrar for local SIP users and its location service. */
  readonly registrar: Registrar;
  /** Overload control: event-loop lag, whether new calls are refused. */
  readonly overload: OverloadDetector;
  readonly sipPorts: TransportPorts;
  readonly apiPort: number;
  /** Graceful stop: refuse new work, end calls, close listeners and the database. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  version?: string;
  /** An already open database (tests hand in a per-test schema); it is migrated but not closed by stop(). */
  db?: Database;
  /** Called with the media session of every call a built-in route (answer, echo) answers: observability and tests. */
  onMediaSession?: (callId: string, media: MediaSession) => void;
}

const VERSION = '0.1.0';

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, instanceId: config.cluster.instanceId });
  const metrics = createMetrics();
  const startedAt = Date.now();
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch((err: unknown) => logger.warn({ err }, 'shutdown step failed'));
    cleanups.length = 0;
  };
  try {
    // 1. Storage: migrations must succeed before anything takes traffic.
    const db = options.db ?? (await openDatabase(config, { logger }));
    if (!options.db) cleanups.push(() => db.close());
    await migrate(db, { logger });

    // 2. SIP transport + UA core.
    const sip = config.sip;
    // The transport delivers to the UA, which needs the transport's bound ports: tie the knot through a holder.
    const uaHolder: { ua?: SipUserAgent } = {};
    // The registrar is built after the transport; TCP/TLS connection closes reach it through this holder.
    const registrarHolder: { registrar?: Registrar } = {};
    const wants = (t: string): boolean => sip.transports.includes(t as 'udp' | 'tcp' | 'tls');
    const tlsEnabled = wants('tls') && sip.tlsCertFile !== undefined && sip.tlsKeyFile !== undefined;
    const transport = new SipTransportLayer({
      host: sip.bindAddress,
      udp: wants('udp') ? { port: sip.port } : false,
      tcp: wants('tcp') ? { port: sip.port } : false,
      tls: tlsEnabled ? { port: sip.tlsPort, cert: readFileSync(sip.tlsCertFile as string), key: readFileSync(sip.tlsKeyFile as string) } : false,
      idleTimeoutMs: sip.tcpIdleTimeoutS * 1000,
      maxMessageSize: sip.maxMessageBytes,
      onMessage: (data, source) => uaHolder.ua?.receive(data, source),
      // Bindings that live on a closed TCP/TLS connection can no longer be reached (RFC 5626 §5.3).
      onConnectionClose: (info) => {
        registrarHolder.registrar?.connectionClosed(info.connectionId).catch((err: unknown) => logger.warn({ err }, 'cannot drop the bindings of a closed connection'));
      },
      onDrop: (reason, source, head) => {
        metrics.sip.dropped(reason === 'oversize' ? 'too_large' : 'parse');
        if (reason === 'oversize' && head) uaHolder.ua?.answerOversize(head, source);
        logger.debug({ reason, source: `${source.transport}:${source.address}:${source.port}` }, 'SIP input dropped');
      },
      onError: (err, context) => logger.warn({ err, context }, 'SIP transport error'),
    });
    await transport.start();
    cleanups.push(() => transport.close());
    const ports = transport.ports;
    const uaPorts: Partial<Record<TransportProtocol, number>> = {};
    if (ports.udp) uaPorts.UDP = ports.udp;
    if (ports.tcp) uaPorts.TCP = ports.tcp;
    if (ports.tls) uaPorts.TLS = ports.tls;
    const sipLog = logger.child({ component: 'sip' });
    // Overload control (OVERLOAD_BUSY_PCT, OVERLOAD_LAG_MS): while the event loop is saturated or lags, new calls get
    // 503 + Retry-After (see user-agent). The busy fraction per window is Node's event-loop utilisation difference.
    let elu = performance.eventLoopUtilization();
    const overload = new OverloadDetector({
      clock: systemClock,
      lagThresholdMs: sip.overload.lagMs,
      busyThresholdPct: sip.overload.busyPct,
      busyProbe: () => {
        const now = performance.eventLoopUtilization();
        const window = performance.eventLoopUtilization(now, elu);
        elu = now;
        return window.utilization;
      },
      retryAfterS: sip.overload.retryAfterS,
      onChange: (on, lagMs) =>
        on
          ? sipLog.warn({ lagMs: Math.round(lagMs), busyPct: Math.round(overload.busy * 100), admittedPct: Math.round(overload.admitted * 100) }, 'overloaded: new calls are refused with 503 (all, or a share)')
          : sipLog.info({ lagMs: Math.round(lagMs) }, 'overload over: new calls accepted again'),
      onReject: (method) => metrics.sip.overloadRejected(method),
    });
    overload.start();
    cleanups.push(() => overload.stop());
    metrics.sip.setOverloadSource(
      () => (overload.overloaded ? 1 : 0),
      () => overload.lagMs,
    );
    const ua = new SipUserAgent({
      clock: systemClock,
      send: (target, data) => transport.send(target, data),
      publicHost: sip.publicAddress,
      ports: uaPorts,
      T1: sip.t1Ms,
      T2: sip.t2Ms,
      T4: sip.t4Ms,
      maxMessageSize: sip.maxMessageBytes,
      logger: sipLog,
      hooks: {
        message: (direction, method, status) => metrics.sip.message(direction, method, status),
        parseError: (_code, source) => metrics.sip.parseError(source.transport.toLowerCase() as 'udp' | 'tcp' | 'tls'),
        dropped: (reason) => metrics.sip.dropped(reason),
      },
      // SIP_ALLOWED_CIDRS and the per-source flood detector (Kamailio pike's idea) run before parsing.
      ingress: new IngressGuard({
        clock: systemClock,
        allowedCidrs: sip.allowedCidrs,
        floodMaxRequests: sip.flood.maxRequests,
        floodWindowMs: sip.flood.windowS * 1000,
        banMs: sip.flood.banS * 1000,
        logger: sipLog,
      }),
      overload: overload.enabled ? overload : undefined,
    });
    uaHolder.ua = ua;
    cleanups.push(() => ua.close(Math.min(config.shutdownGraceS * 1000, 5000)));
    metrics.sip.setTransactionsSource(() => ua.transactions.size);
    metrics.sip.setDialogsSource(() => ua.dialogs.size);

    // Trunks (outbound registration, OPTIONS health, route choice, inbound identification) and the registrar for
    // local SIP users. Trunks close before the UA (cleanups run in reverse) so their de-registrations still leave.
    const trunks = await createTrunkServices({
      ua,
      db: new TrunkRepository(db, SecretCipher.forTrunks(config.api.trunkSecretKey).cipher),
      logger: logger.child({ component: 'trunks' }),
      metrics,
      config,
    });
    cleanups.push(() => trunks.close());
    const registrar = createRegistrar({ db, config, logger: logger.child({ component: 'registrar' }) });
    registrarHolder.registrar = registrar;
    cleanups.push(() => registrar.close());
    ua.handle('REGISTER', (req) => registrar.handleRegister(req));

    // 3. Media and call routing.
    const pool = new RtpPortPool({ min: config.rtp.portMin, max: config.rtp.portMax, host: sip.bindAddress });
    metrics.rtp.setPortsInUseSource(() => pool.allocated * 2);
    const media = new MediaEngine({ pool, clock: systemClock, mediaTimeoutMs: config.rtp.timeoutS * 1000 });
    cleanups.push(() => media.close());
    // Call control (B2BUA): routing, CDRs, webhooks. CDRs this instance left open in a crash are closed first.
    // Live call events (/ws/events) follow each call from its CDR insert on: the store is observed, not changed.
    const liveEvents = new CallEventStream();
    const callStore = observeCallStore(new CallStorePg(createRepositories(db), db), (start) => {
      const live = calls.call(start.callId);
      if (live) liveEvents.followCall(live);
    });
    const webhooks = new WebhookNotifier({ signingKey: config.webhookSigningKey, logger: logger.child({ component: 'webhook' }) });
    cleanups.push(() => webhooks.close());
    const mediaHooks: { opened?: (callId: string) => void } = {};
    const calls = new CallManager({
      ua,
      media,
      store: callStore,
      instanceId: config.cluster.instanceId,
      mediaAddress: sip.publicAddress,
      mediaTimeoutMs: config.rtp.timeoutS * 1000,
      // RFC 4028: we accept Session-Expires down to SESSION_MIN_SE (90 s unless a test lowers it) and cap at 30 min.
      sessionTimer: {
        interval: Math.max(DEFAULT_SESSION_INTERVAL, sip.sessionMinSE),
        minSE: sip.sessionMinSE,
        minSEFloor: Math.min(MIN_SE_FLOOR, sip.sessionMinSE),
        preferredRefresher: 'uac',
      },
      defaultRoute: config.routing.defaultRoute,
      testNumber: config.routing.testNumber,
      answerDelayMs: config.routing.answerDelayMs,
      blockedStatus: config.routing.blockedStatus,
      ringMode: config.routing.ringMode,
      musicOnHold: findMusicOnHold(config.media.mohDir),
      outbound: config.outbound,
      webhooks,
      metrics: metrics.calls,
      rtpMetrics: metrics.rtp,
      logger: logger.child({ component: 'call' }),
      // Recording by the number's setting starts from the A-leg's media (the hook is set once recording exists).
      onMediaSession: (callId, m) => {
        mediaHooks.opened?.(callId);
        options.onMediaSession?.(callId, m);
      },
      router: trunks,
      inbound: trunks,
      localUsers: registrar,
    });
    // The AI route: each call's audio and DTMF over one WebSocket to the AI platform (AI_PLATFORM_URL, or the number's
    // ai_settings), connected while the call rings; AI_FALLBACK when it cannot be reached. Registered before the
    // call manager's cleanup so that, at shutdown, calls end first (the AI gets call_end) and leftovers close after.
    const aiConfig = config.ai;
    const aiBridge = new AiBridge(
      {
        platformUrl: aiConfig.platformUrl,
        token: aiConfig.token,
        protocol: aiConfig.protocol,
        connectTimeoutMs: aiConfig.connectTimeoutMs,
        reconnectS: aiConfig.reconnectS,
        // Caller audio waits while the AI connects: room for the whole connect timeout, plus a margin.
        session: { pendingFrames: Math.min(3000, Math.ceil(aiConfig.connectTimeoutMs / 20) + 50) },
        twilio: aiConfig.twilioAccountSid !== undefined ? { accountSid: aiConfig.twilioAccountSid } : undefined,
      },
      { metrics: metrics.bridge, logger: logger.child({ component: 'bridge' }) },
    );
    metrics.bridge.setConnectionsSource(() => aiBridge.openConnections);
    if (aiConfig.fallbackMessage !== undefined && !existsSync(aiConfig.fallbackMessage)) {
      logger.warn({ file: aiConfig.fallbackMessage }, 'AI_FALLBACK_MESSAGE does not exist: the ai-unavailable fallback will hang up without a message');
    }
    const aiNumbers = createRepositories(db).numbers;
    // Set once the interactive services exist: the AMD verdict of an originated call goes into its call_start.
    const aiHooks: { callParameters?: (callId: string) => Readonly<Record<string, string>> } = {};
    const aiApp = new AiCallApp({
      callParameters: (callId) => aiHooks.callParameters?.(callId) ?? {},
      bridge: aiBridge,
      fallback: aiConfig.fallback,
      fallbackMessage: aiConfig.fallbackMessage,
      recordingsDir: config.media.recordingsDir,
      promptsDir: config.media.mohDir,
      lookupNumber: async (number) => (await aiNumbers.get(number))?.aiSettings,
      fallbackApp: (route) => (route.kind === 'queue' ? calls.appOf('queue') : undefined),
      logger: logger.child({ component: 'bridge' }),
    });
    calls.registerApp('ai', aiApp);
    cleanups.push(() => aiApp.close());
    const interactive = wireInteractive(config, db, calls, webhooks, logger);
    aiHooks.callParameters = (callId) => interactive.machineDetection.customParameters(callId);
    mediaHooks.opened = (callId) => interactive.recordings.mediaOpened(callId);
    cleanups.push(() => interactive.close());
    await calls.recover();
    cleanups.push(() => calls.close());
    metrics.calls.setActiveSource(() => calls.size);
    ua.onInvite = (session: ServerInviteSession) => calls.handleInvite(session);

    // SMS: SIP MESSAGE out through the gateway or the trunks (durable queue, retries), MESSAGE in from trunks.
    // The repositories (trunk passwords decrypted with TRUNK_SECRET_KEY) serve the SMS routes and the API alike.
    const trunkSecret = SecretCipher.forTrunks(config.api.trunkSecretKey);
    if (trunkSecret.insecure) {
      logger.warn('TRUNK_SECRET_KEY is not set: trunk passwords are encrypted with the public development key; set it before storing real credentials');
    }
    const repositories = createRepositories(db, { secretCipher: trunkSecret.cipher });
    const smsConfig = config.sms;
    const smsRoute =
      smsConfig.gatewayUri !== undefined
        ? gatewayRoute(
            smsConfig.gatewayUri,
            sip.publicAddress,
            smsConfig.gatewayUsername !== undefined ? { username: smsConfig.gatewayUsername, password: smsConfig.gatewayPassword ?? '' } : undefined,
          )
        : trunkRoute(repositories.trunks, sip.publicAddress);
    // Inbound MESSAGE goes through the INVITEs' inbound policy (trunk by address or digest, else 403 unless
    // OPEN_INBOUND); the SMS gateway, which is no trunk, is let through by its address.
    const gateway = smsConfig.gatewayUri !== undefined ? await gatewaySources(smsConfig.gatewayUri) : undefined;
    if (gateway && gateway.addresses.length === 0) logger.warn({ gateway: smsConfig.gatewayUri }, 'SMS gateway host did not resolve: its inbound MESSAGEs go through the trunk policy');
    const sms = new SmsService({
      repositories,
      sender: new SipSmsSender({ requester: ua, route: smsRoute }),
      instanceId: config.cluster.instanceId,
      retry: { maxAttempts: smsConfig.maxAttempts },
      segmentOutbound: smsConfig.segmenting,
      inbound: trunks,
      trustedSource: gateway?.matches,
      metrics: metrics.sms,
      logger: logger.child({ component: 'sms' }),
      // Inbound texts reach the AI sessions on that number (native sms_received) and the live event stream.
      onInbound: (text) => {
        liveEvents.publishSms({ id: text.id, from: text.from, to: text.to, body: text.body, segments: text.segments });
        aiApp.notifySms({ messageId: text.id, from: text.from, to: text.to, text: text.body });
      },
    });
    // Registered before the API listens; stopped before the UA and the database close (cleanups run in reverse).
    cleanups.push(() => sms.close());
    ua.handle('MESSAGE', sms.handleInbound);
    sms.startWorker();

    // 4. HTTP API.
    const health = new HealthChecker();
    health.register('database', async () => {
      await db.query('SELECT 1');
      return { status: 'ok' };
    });
    health.register('sip', () => ({ status: transport.ports.udp || transport.ports.tcp ? 'ok' : 'down', detail: JSON.stringify(transport.ports) }));
    const apiLog = logger.child({ component: 'api' });
    let verifier: JwtVerifier | undefined;
    if (config.api.jwtSecretKey !== undefined || config.api.jwtPublicKeyFile !== undefined) {
      try {
        verifier = new JwtVerifier({
          secret: config.api.jwtSecretKey,
          publicKeyPem: config.api.jwtPublicKeyFile !== undefined ? readFileSync(config.api.jwtPublicKeyFile) : undefined,
          audience: config.api.jwtAudience,
          issuer: config.api.jwtIssuer,
        });
      } catch (err) {
        throw new ConfigError(config.api.jwtPublicKeyFile !== undefined ? 'JWT_PUBLIC_KEY_FILE' : 'JWT_SECRET_KEY', err instanceof Error ? err.message : String(err));
      }
    } else {
      apiLog.warn('neither JWT_SECRET_KEY nor JWT_PUBLIC_KEY_FILE is set: every /api request is refused with 401');
    }
    const apiAddress: { port: number } = { port: 0 };
    const { app } = createApi({
      logger,
      health,
      metrics: config.api.metricsEnabled ? metrics : undefined,
      metricsToken: config.api.metricsToken,
      version: options.version ?? VERSION,
      startedAt,
      instanceId: config.cluster.instanceId,
      verifier,
      security: {
        allowedCidrs: config.api.allowedCidrs,
        trustProxy: config.api.trustProxy,
        corsOrigins: config.api.corsOrigins,
        bodyLimitBytes: config.api.bodyLimitBytes,
        rateLimit: config.api.rateLimit,
      },
      repositories,
      sms,
      ivrMenus: interactive.api.ivrMenus,
      queues: interactive.api.queues,
      recordings: interactive.api.recordings,
      // Agents written for Twilio hang up through the Twilio-shaped REST endpoint (off without the credentials).
      twilio: {
        accountSid: config.ai.twilioAccountSid,
        authToken: config.ai.twilioAuthToken,
        resolveCallSid: (callSid) => aiApp.callIdForTwilioSid(callSid),
      },
      // Call control through its service interface (DESIGN.md: api talks to call via CallControl).
      calls: calls as CallControl,
      afterOriginate: (callId, o) => {
        if (o.record) interactive.recordings.recordWhenAnswered(callId, 'originate');
        if (o.machineDetection) interactive.machineDetection.request(callId, { waitForBeep: o.waitForBeep });
      },
      trunkState: (id) => trunks.liveState(id),
      // API changes take effect without a restart: re-read the trunks (re-register, re-ping, new routes).
      onTrunksChanged: () => {
        trunks.reload().catch((err: unknown) => logger.warn({ err }, 'trunk reload after an API change failed'));
      },
      statusExtras: () => ({ trunk_states: trunks.states(), inbound: trunks.inboundStats(), registrar: registrar.stats(), overload: overload.status() }),
      listeners: () => ({
        sip: { address: sip.bindAddress, publicAddress: sip.publicAddress, udp: transport.ports.udp, tcp: transport.ports.tcp, tls: transport.ports.tls },
        api: { address: config.api.bindAddress, port: apiAddress.port },
      }),
    });
    const http: HttpServer = createServer(app);
    // Slow-loris guard: a client must send its headers within 10 s and its whole request within 30 s.
    http.headersTimeout = 10_000;
    http.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.api.port, config.api.bindAddress, () => resolve());
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
    );
    // /ws/events on the API port: the API's tokens (scope calls:read) and address allow-list. Closed before the
    // HTTP server (cleanups run in reverse): upgraded sockets are no longer the HTTP server's to close.
    const eventsAllowList = config.api.allowedCidrs.length > 0 ? cidrBlockList(config.api.allowedCidrs) : undefined;
    liveEvents.attach(http, { verifier, isAllowed: eventsAllowList ? (address) => blockListHas(eventsAllowList, address) : undefined });
    cleanups.push(() => liveEvents.close());
    const apiPort = (http.address() as AddressInfo).port;
    apiAddress.port = apiPort;
    logger.info({ sip: ports, api: apiPort, publicAddress: sip.publicAddress }, 'server started');

    let stopping: Promise<void> | undefined;
    return {
      config,
      logger,
      metrics,
      db,
      ua,
      transport,
      calls,
      ai: aiApp,
      trunks,
      registrar,
      overload,
      sipPorts: ports,
      apiPort,
      stop: () => (stopping ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
