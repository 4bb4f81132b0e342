import { existsSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { formatCidr, parseCidr, type CidrBlock } from './cidr';
import { ConfigError } from './config-error';
import type { ConfigVariableName } from './config-variables';
import { EnvReader, isHostOrIp, type Env } from './env-reader';

export type NodeEnv = 'development' | 'production' | 'test';
export type SipTransportName = 'udp' | 'tcp' | 'tls';
export type DefaultRoute = 'ai' | 'answer' | 'echo' | 'reject';
export type RingMode = 'ringback' | 'early-media';
/** MOH_MODE: one shared stream per track, or the track from its start for each listener. */
export type MohModeSetting = 'shared' | 'per-listener';
export type AiProtocol = 'native' | 'twilio' | 'jambonz';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export const SIP_TRANSPORTS: readonly SipTransportName[] = ['udp', 'tcp', 'tls'];
export const DEFAULT_ROUTES: readonly DefaultRoute[] = ['ai', 'answer', 'echo', 'reject'];
export const RING_MODES: readonly RingMode[] = ['ringback', 'early-media'];
export const AI_PROTOCOLS: readonly AiProtocol[] = ['native', 'twilio', 'jambonz'];
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];
const MOH_MODES: readonly MohModeSetting[] = ['shared', 'per-listener'];

/** Minimum HS256 secret length in production: 32 bytes = 256 bits, the HMAC-SHA256 key size (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_LENGTH = 32;

/** Minimum TRUNK_SECRET_KEY length: the key is derived from it with HKDF-SHA256, so give it 256 bits of text. */
export const MIN_TRUNK_SECRET_LENGTH = 32;

/** Per-source SIP request flood detection (Kamailio pike's idea): more than `maxRequests` per window bans the source. */
export interface SipFloodConfig {
  /** 0 = detector off. */
  readonly maxRequests: number;
  readonly windowS: number;
  readonly banS: number;
}

/** Overload control: shed new calls with 503 while the event loop lags (RFC 3261 §21.5.4, RFC 7339's aim). */
export interface SipOverloadConfig {
  /** Smoothed event-loop lag (ms) that starts shedding; 0 = off. */
  readonly lagMs: number;
  /** Event-loop busy percentage per 50 ms window that starts shedding after 3 windows in a row; 0 = off. */
  readonly busyPct: number;
  /** Retry-After of the 503 answers (s). */
  readonly retryAfterS: number;
}

/** Token buckets of the REST API; a rate of 0 disables that limit. */
export interface ApiRateLimitConfig {
  readonly ipPerSecond: number;
  readonly ipBurst: number;
  readonly subjectPerSecond: number;
  readonly subjectBurst: number;
}

export interface SipConfig {
  readonly domain: string;
  readonly bindAddress: string;
  /** Address written into Via sent-by, Contact and SDP c= lines. */
  readonly publicAddress: string;
  readonly port: number;
  readonly tlsPort: number;
  readonly transports: readonly SipTransportName[];
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  /** RFC 3261 §17.1.1.1 timer values in milliseconds. */
  readonly t1Ms: number;
  readonly t2Ms: number;
  readonly t4Ms: number;
  readonly maxMessageBytes: number;
  /** SESSION_MIN_SE: smallest RFC 4028 session interval accepted, s (90 unless a test lowers it). */
  readonly sessionMinSE: number;
  readonly tcpIdleTimeoutS: number;
  /** Sources allowed to send SIP; empty = any. */
  readonly allowedCidrs: readonly CidrBlock[];
  readonly flood: SipFloodConfig;
  readonly overload: SipOverloadConfig;
  readonly logMessages: boolean;
}

export interface RoutingConfig {
  readonly defaultRoute: DefaultRoute;
  /** Number answered by the built-in test responder; undefined = off. */
  readonly testNumber: string | undefined;
  /** How long the answer route rings before answering, ms. */
  readonly answerDelayMs: number;
  /** Final status for blocked callers (BLOCKED_CALL_STATUS). */
  readonly blockedStatus: number;
  /** Default ringing behaviour (RING_MODE). */
  readonly ringMode: RingMode;
}

/** The static outbound trunk (until trunks are managed in the database). */
export interface OutboundConfig {
  /** `host[:port][;transport=...]`; undefined = no trunk. */
  readonly proxy: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** SIP trunks: health pings, registration retries, inbound policy. */
export interface TrunksConfig {
  /** OPTIONS ping interval, s; 0 = no pings. */
  readonly optionsIntervalS: number;
  /** Consecutive misses that mark a trunk down. */
  readonly downAfter: number;
  /** Consecutive answers that mark a down trunk up. */
  readonly upAfter: number;
  /** Cap of the registration retry backoff, s. */
  readonly registerRetryMaxS: number;
  /** Accept calls to our numbers from sources that are no trunk. */
  readonly openInbound: boolean;
}

/** The registrar for local SIP users (RFC 3261 §10.3). */
export interface RegistrarConfig {
  /** Digest nonce key shared by the instances; undefined = random per process. */
  readonly secret: string | undefined;
  readonly minExpiresS: number;
  readonly maxExpiresS: number;
  readonly defaultExpiresS: number;
  /** Offered digest algorithms, preferred first. */
  readonly digestAlgorithms: readonly RegistrarDigestAlgorithm[];
}

export type RegistrarDigestAlgorithm = 'SHA-256' | 'MD5';
export const REGISTRAR_DIGEST_ALGORITHMS: readonly RegistrarDigestAlgorithm[] = ['SHA-256', 'MD5'];

export interface RtpConfig {
  readonly portMin: number;
  readonly portMax: number;
  readonly timeoutS: number;
}

export interface DatabaseConfig {
  /** PostgreSQL URL; undefined = embedded PGlite in `dataDir`. */
  readonly url: string | undefined;
  readonly poolMax: number;
  readonly dataDir: string;
}

export interface ApiConfig {
  readonly port: number;
  readonly bindAddress: string;
  readonly allowedCidrs: readonly CidrBlock[];
  readonly trustProxy: boolean;
  readonly jwtSecretKey: string | undefined;
  readonly jwtPublicKeyFile: string | undefined;
  /** Required `aud` / `iss` claims of API tokens when set. */
  readonly jwtAudience: string | undefined;
  readonly jwtIssuer: string | undefined;
  readonly rateLimit: ApiRateLimitConfig;
  /** Origins allowed by CORS (`*` = any); empty = no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  /** Secret the trunk password encryption key is derived from; undefined = development fallback (never in production). */
  readonly trunkSecretKey: string | undefined;
  readonly metricsEnabled: boolean;
  readonly metricsToken: string | undefined;
}

export interface AiConfig {
  readonly platformUrl: string | undefined;
  readonly token: string | undefined;
  readonly protocol: AiProtocol;
  readonly connectTimeoutMs: number;
  readonly reconnectS: number;
  /** AI_MAX_SESSIONS: concurrent AI sessions allowed (0 = no limit). */
  readonly maxSessions: number;
  /** AI_FALLBACK: where a call goes when the AI cannot be reached. */
  readonly fallback: AiFallbackConfig;
  /** AI_FALLBACK_MESSAGE: WAV played before the fallback hangs up. */
  readonly fallbackMessage: string | undefined;
  /** TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN: Twilio-mode identity and the Twilio-shaped REST credentials. */
  readonly twilioAccountSid: string | undefined;
  readonly twilioAuthToken: string | undefined;
}

/** AI_FALLBACK: play AI_FALLBACK_MESSAGE and hang up, transfer to a number or SIP URI, or hand over to a queue. */
export type AiFallbackConfig = { kind: 'hangup' } | { kind: 'transfer'; target: string } | { kind: 'queue'; id: string };

/** Twilio SIDs are a two-letter prefix and 32 lowercase hex digits. */
function readTwilioAccountSid(r: EnvReader): string | undefined {
  const sid = r.optionalString('TWILIO_ACCOUNT_SID');
  if (sid !== undefined && !/^AC[0-9a-f]{32}$/.test(sid)) throw new ConfigError('TWILIO_ACCOUNT_SID', `must be AC followed by 32 lowercase hex digits, got "${sid}"`);
  return sid;
}

function readAiFallback(r: EnvReader): AiFallbackConfig {
  const text = r.raw('AI_FALLBACK') ?? 'hangup';
  if (text === 'hangup') return { kind: 'hangup' };
  const m = /^(transfer|queue):([^\s<>"]{1,256})$/.exec(text);
  if (!m) throw new ConfigError('AI_FALLBACK', `must be hangup, transfer:<number or sip uri> or queue:<queue id>, got "${text}"`);
  return m[1] === 'transfer' ? { kind: 'transfer', target: m[2] } : { kind: 'queue', id: m[2] };
}

/** SMS over SIP MESSAGE (RFC 3428): where outbound texts go and how hard we try. */
export interface SmsConfig {
  /** SIP URI of the SMS gateway; undefined = route through the stored trunks. */
  readonly gatewayUri: string | undefined;
  readonly gatewayUsername: string | undefined;
  readonly gatewayPassword: string | undefined;
  /** One MESSAGE per segment (X-SMS-Concat) instead of the whole text. */
  readonly segmenting: boolean;
  /** Attempts in total, first send included. */
  readonly maxAttempts: number;
}

export interface MediaConfig {
  readonly recordingsDir: string;
  readonly mohDir: string;
  /** MOH_MODE. */
  readonly mohMode: MohModeSetting;
  /** TTS_COMMAND template (espeak-ng when unset and on PATH); undefined = text prompts unsupported. */
  readonly ttsCommand: string | undefined;
  /** TRANSCRIBER_URL; undefined = no post-call transcription. */
  readonly transcriberUrl: string | undefined;
}

export interface ClusterConfig {
  readonly instanceId: string;
  readonly heartbeatS: number;
}

/** The whole server configuration: typed, validated, deeply frozen. */
export interface Config {
  readonly env: NodeEnv;
  readonly isProduction: boolean;
  readonly logLevel: LogLevel;
  readonly shutdownGraceS: number;
  readonly sip: SipConfig;
  readonly routing: RoutingConfig;
  readonly rtp: RtpConfig;
  readonly database: DatabaseConfig;
  readonly api: ApiConfig;
  readonly ai: AiConfig;
  readonly media: MediaConfig;
  readonly cluster: ClusterConfig;
  readonly outbound: OutboundConfig;
  readonly trunks: TrunksConfig;
  readonly registrar: RegistrarConfig;
  readonly sms: SmsConfig;
  readonly webhookSigningKey: string | undefined;
}

/** Host facts used for computed defaults; injectable so tests do not depend on the machine. */
export interface HostFacts {
  hostname(): string;
  /** First non-internal IPv4 address, if any. */
  primaryIpv4(): string | undefined;
  pid: number;
}

export const systemHostFacts: HostFacts = {
  hostname: () => hostname(),
  primaryIpv4: () => {
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return undefined;
  },
  pid: process.pid,
};

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function readFileVar(r: EnvReader, name: ConfigVariableName): string | undefined {
  const path = r.optionalString(name);
  if (path === undefined) return undefined;
  if (!existsSync(path) || !statSync(path).isFile()) throw new ConfigError(name, `file not found: ${path}`);
  return path;
}

/** The TTS command espeak-ng gets when TTS_COMMAND is unset and espeak-ng is installed. */
export const ESPEAK_TTS_COMMAND = 'espeak-ng -v {voice} -w {out} {text}';

/** True when `command` is an executable file in one of the directories of `path` (a PATH value). */
export function commandOnPath(command: string, path: string | undefined): boolean {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    try {
      const st = statSync(join(dir, command));
      // Any execute bit: the server only needs to be able to spawn it, as the shell's `command -v` would.
      if (st.isFile() && (st.mode & 0o111) !== 0) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * TTS_COMMAND: as set; `none` (or `off`) turns TTS off; unset = espeak-ng when it is on the environment's PATH
 * (looked up once, here, at start-up), else no TTS.
 */
function readTtsCommand(r: EnvReader, env: Env): string | undefined {
  const set = r.optionalString('TTS_COMMAND');
  if (set !== undefined) {
    const off = set.toLowerCase();
    return off === 'none' || off === 'off' ? undefined : set;
  }
  return commandOnPath('espeak-ng', env['PATH']) ? ESPEAK_TTS_COMMAND : undefined;
}

function readCidrs(r: EnvReader, name: ConfigVariableName): CidrBlock[] {
  return r.list(name).map((item) => {
    const block = parseCidr(item);
    if (!block) throw new ConfigError(name, `"${item}" is not an IP address or CIDR block`);
    return block;
  });
}

/** CORS origins: `*`, or `scheme://host[:port]` exactly as browsers send them in the Origin header (RFC 6454 §6.1). */
function readOrigins(r: EnvReader): string[] {
  return r.list('API_CORS_ORIGINS').map((item) => {
    if (item === '*') return item;
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError('API_CORS_ORIGINS', `"${item}" is not an origin (scheme://host[:port])`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
      throw new ConfigError('API_CORS_ORIGINS', `"${item}" is not an origin (scheme://host[:port], no path)`);
    }
    return url.origin;
  });
}

function readTransports(r: EnvReader): SipTransportName[] {
  const items = r.list('SIP_TRANSPORTS').map((s) => s.toLowerCase());
  if (items.length === 0) throw new ConfigError('SIP_TRANSPORTS', 'must name at least one of udp, tcp, tls');
  const out: SipTransportName[] = [];
  for (const item of items) {
    const t = SIP_TRANSPORTS.find((x) => x === item);
    if (!t) throw new ConfigError('SIP_TRANSPORTS', `unknown transport "${item}" (use udp, tcp, tls)`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

function instanceIdDefault(host: HostFacts): string {
  const name = host.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50) || 'sip';
  return `${name}-${host.pid}`;
}

/**
 * Read and validate the configuration from an environment. Throws one `ConfigError` naming the first
 * invalid variable. Only this module reads the environment; everything else receives the `Config`.
 */
export function loadConfig(env: Env = process.env, host: HostFacts = systemHostFacts): Config {
  const r = new EnvReader(env);
  const nodeEnv = r.oneOf('NODE_ENV', NODE_ENVS);
  const isProduction = nodeEnv === 'production';

  const instanceId = r.string('INSTANCE_ID', instanceIdDefault(host));
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(instanceId)) {
    throw new ConfigError('INSTANCE_ID', 'must be 1-64 letters, digits, ".", "_" or "-"');
  }

  // SIP
  const hostName = host.hostname();
  const domain = r.host('SIP_DOMAIN', hostName !== '' && isHostOrIp(hostName) ? hostName : 'localhost');
  const transports = readTransports(r);
  const tlsCertFile = readFileVar(r, 'TLS_CERT_FILE');
  const tlsKeyFile = readFileVar(r, 'TLS_KEY_FILE');
  if (tlsCertFile !== undefined && tlsKeyFile === undefined) throw new ConfigError('TLS_KEY_FILE', 'is required when TLS_CERT_FILE is set');
  if (tlsKeyFile !== undefined && tlsCertFile === undefined) throw new ConfigError('TLS_CERT_FILE', 'is required when TLS_KEY_FILE is set');
  if (isProduction && transports.includes('tls') && tlsCertFile === undefined) {
    // A self-signed certificate is fine on a laptop; in production, trunks would reject it or, worse, accept it.
    throw new ConfigError('TLS_CERT_FILE', 'is required in production when SIP_TRANSPORTS includes tls (or remove tls)');
  }
  const t1Ms = r.int('SIP_T1_MS', { min: 1, max: 60_000 });
  const t2Ms = r.int('SIP_T2_MS', { min: 1, max: 600_000 });
  // RFC 3261 §17.1.2.2: retransmit intervals double from T1 and are capped at T2, so T2 < T1 is meaningless.
  if (t2Ms < t1Ms) throw new ConfigError('SIP_T2_MS', `must be >= SIP_T1_MS (${t1Ms}), got ${t2Ms}`);
  const sip: SipConfig = {
    domain,
    bindAddress: r.ip('SIP_BIND_ADDRESS', '0.0.0.0'),
    publicAddress: r.host('SIP_PUBLIC_ADDRESS', host.primaryIpv4() ?? '127.0.0.1'),
    port: r.port('SIP_PORT', true),
    tlsPort: r.port('SIP_TLS_PORT', true),
    transports,
    tlsCertFile,
    tlsKeyFile,
    t1Ms,
    t2Ms,
    t4Ms: r.int('SIP_T4_MS', { min: 1, max: 600_000 }),
    // Below 1300 bytes (the RFC 3261 §18.1.1 UDP size threshold) ordinary INVITEs with SDP would be refused.
    maxMessageBytes: r.int('SIP_MAX_MESSAGE_BYTES', { min: 1300, max: 1_048_576 }),
    sessionMinSE: r.int('SESSION_MIN_SE', { min: 1, max: 86_400 }),
    tcpIdleTimeoutS: r.int('SIP_TCP_IDLE_TIMEOUT_S', { min: 1, max: 86_400 }),
    allowedCidrs: readCidrs(r, 'SIP_ALLOWED_CIDRS'),
    flood: {
      maxRequests: r.int('SIP_FLOOD_MAX_REQUESTS', { min: 0, max: 1_000_000 }),
      windowS: r.int('SIP_FLOOD_WINDOW_S', { min: 1, max: 3600 }),
      banS: r.int('SIP_FLOOD_BAN_S', { min: 1, max: 86_400 }),
    },
    overload: {
      lagMs: r.int('OVERLOAD_LAG_MS', { min: 0, max: 60_000 }),
      busyPct: r.int('OVERLOAD_BUSY_PCT', { min: 0, max: 100 }),
      retryAfterS: r.int('OVERLOAD_RETRY_AFTER_S', { min: 0, max: 86_400 }),
    },
    logMessages: r.bool('SIP_LOG_MESSAGES'),
  };
  if (sip.port !== 0 && sip.port === sip.tlsPort && transports.includes('tls') && transports.some((t) => t !== 'tls')) {
    throw new ConfigError('SIP_TLS_PORT', `must differ from SIP_PORT (${sip.port}) when both TLS and TCP/UDP are enabled`);
  }

  const testNumber = r.optionalString('SIP_TEST_NUMBER');
  if (testNumber !== undefined && !/^\+?[0-9A-Za-z*#._-]{1,64}$/.test(testNumber)) {
    throw new ConfigError('SIP_TEST_NUMBER', `must be a dialable number or user part, got "${testNumber}"`);
  }
  const routing: RoutingConfig = {
    defaultRoute: r.oneOf('DEFAULT_ROUTE', DEFAULT_ROUTES),
    testNumber,
    answerDelayMs: r.int('SIP_ANSWER_DELAY_MS', { min: 0, max: 300_000 }),
    blockedStatus: r.int('BLOCKED_CALL_STATUS', { min: 400, max: 699 }),
    ringMode: r.oneOf('RING_MODE', RING_MODES),
  };
  const outboundProxy = r.optionalString('OUTBOUND_PROXY');
  if (outboundProxy !== undefined && !/^(sips?:)?[A-Za-z0-9.[\]:-]+(:[0-9]{1,5})?(;transport=(udp|tcp|tls))?$/i.test(outboundProxy)) {
    throw new ConfigError('OUTBOUND_PROXY', `must be host[:port][;transport=udp|tcp|tls], got "${outboundProxy}"`);
  }
  const outboundUsername = r.optionalString('OUTBOUND_USERNAME');
  const outboundPassword = r.optionalString('OUTBOUND_PASSWORD');
  if (outboundPassword !== undefined && outboundUsername === undefined) throw new ConfigError('OUTBOUND_USERNAME', 'is required when OUTBOUND_PASSWORD is set');

  // Trunks and registrar
  const trunks: TrunksConfig = {
    optionsIntervalS: r.int('TRUNK_OPTIONS_INTERVAL_S', { min: 0, max: 86_400 }),
    downAfter: r.int('TRUNK_DOWN_AFTER', { min: 1, max: 100 }),
    upAfter: r.int('TRUNK_UP_AFTER', { min: 1, max: 100 }),
    registerRetryMaxS: r.int('TRUNK_REGISTER_RETRY_MAX_S', { min: 5, max: 86_400 }),
    openInbound: r.bool('OPEN_INBOUND'),
  };
  const registrarSecret = r.optionalString('SIP_REGISTRAR_SECRET');
  // The nonce MAC key (HMAC-SHA-256): fewer than 16 bytes would make nonces forgeable by brute force.
  if (registrarSecret !== undefined && registrarSecret.length < 16) {
    throw new ConfigError('SIP_REGISTRAR_SECRET', `is too short: ${registrarSecret.length} characters, need at least 16`);
  }
  const minExpiresS = r.int('REGISTER_MIN_EXPIRES_S', { min: 1, max: 86_400 });
  const maxExpiresS = r.int('REGISTER_MAX_EXPIRES_S', { min: 1, max: 604_800 });
  const defaultExpiresS = r.int('REGISTER_DEFAULT_EXPIRES_S', { min: 1, max: 604_800 });
  if (maxExpiresS < minExpiresS) throw new ConfigError('REGISTER_MAX_EXPIRES_S', `must be >= REGISTER_MIN_EXPIRES_S (${minExpiresS}), got ${maxExpiresS}`);
  if (defaultExpiresS < minExpiresS || defaultExpiresS > maxExpiresS) {
    throw new ConfigError('REGISTER_DEFAULT_EXPIRES_S', `must be between REGISTER_MIN_EXPIRES_S (${minExpiresS}) and REGISTER_MAX_EXPIRES_S (${maxExpiresS}), got ${defaultExpiresS}`);
  }
  const digestAlgorithms: RegistrarDigestAlgorithm[] = [];
  for (const item of r.list('REGISTER_DIGEST_ALGORITHMS')) {
    const a = REGISTRAR_DIGEST_ALGORITHMS.find((x) => x === item.toUpperCase());
    if (!a) throw new ConfigError('REGISTER_DIGEST_ALGORITHMS', `unknown algorithm "${item}" (use SHA-256, MD5)`);
    if (!digestAlgorithms.includes(a)) digestAlgorithms.push(a);
  }
  if (digestAlgorithms.length === 0) throw new ConfigError('REGISTER_DIGEST_ALGORITHMS', 'must name SHA-256, MD5 or both');
  const registrar: RegistrarConfig = { secret: registrarSecret, minExpiresS, maxExpiresS, defaultExpiresS, digestAlgorithms };

  // RTP: RFC 3550 §11 puts RTP on an even port and RTCP on the next odd one, so both ends are even.
  const portMin = r.int('RTP_PORT_MIN', { min: 1024, max: 65532 });
  const portMax = r.int('RTP_PORT_MAX', { min: 1026, max: 65534 });
  if (portMin % 2 !== 0) throw new ConfigError('RTP_PORT_MIN', `must be even (RTP even, RTCP odd), got ${portMin}`);
  if (portMax % 2 !== 0) throw new ConfigError('RTP_PORT_MAX', `must be even (RTP even, RTCP odd), got ${portMax}`);
  if (portMax <= portMin) throw new ConfigError('RTP_PORT_MAX', `must be greater than RTP_PORT_MIN (${portMin}), got ${portMax}`);
  const rtp: RtpConfig = { portMin, portMax, timeoutS: r.int('RTP_TIMEOUT_S', { min: 1, max: 86_400 }) };

  // Storage
  const dbUrl = r.optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']);
  const dataDir = r.string('DATA_DIR', './data');
  const database: DatabaseConfig = {
    url: dbUrl === undefined ? undefined : r.raw('DATABASE_URL'),
    poolMax: r.int('DATABASE_POOL_MAX', { min: 1, max: 1000 }),
    dataDir,
  };

  // API
  const jwtSecretKey = r.optionalString('JWT_SECRET_KEY');
  const jwtPublicKeyFile = readFileVar(r, 'JWT_PUBLIC_KEY_FILE');
  if (isProduction) {
    if (jwtSecretKey === undefined && jwtPublicKeyFile === undefined) {
      throw new ConfigError('JWT_SECRET_KEY', `is required in production (at least ${MIN_JWT_SECRET_LENGTH} characters), or set JWT_PUBLIC_KEY_FILE`);
    }
    if (jwtSecretKey !== undefined && jwtSecretKey.length < MIN_JWT_SECRET_LENGTH) {
      throw new ConfigError('JWT_SECRET_KEY', `is too weak for production: ${jwtSecretKey.length} characters, need at least ${MIN_JWT_SECRET_LENGTH}`);
    }
  }
  const trunkSecretKey = r.optionalString('TRUNK_SECRET_KEY');
  if (trunkSecretKey !== undefined && trunkSecretKey.length < MIN_TRUNK_SECRET_LENGTH) {
    throw new ConfigError('TRUNK_SECRET_KEY', `is too short: ${trunkSecretKey.length} characters, need at least ${MIN_TRUNK_SECRET_LENGTH}`);
  }
  if (isProduction && trunkSecretKey === undefined) {
    // Without it trunk passwords would be encrypted with a key anyone can read in the source.
    throw new ConfigError('TRUNK_SECRET_KEY', `is required in production (at least ${MIN_TRUNK_SECRET_LENGTH} characters)`);
  }
  const api: ApiConfig = {
    port: r.port('API_PORT', true),
    bindAddress: r.ip('API_BIND_ADDRESS', '0.0.0.0'),
    allowedCidrs: readCidrs(r, 'API_ALLOWED_CIDRS'),
    trustProxy: r.bool('API_TRUST_PROXY'),
    jwtSecretKey,
    jwtPublicKeyFile,
    jwtAudience: r.optionalString('JWT_AUDIENCE'),
    jwtIssuer: r.optionalString('JWT_ISSUER'),
    rateLimit: {
      ipPerSecond: r.int('API_RATE_LIMIT_IP_RPS', { min: 0, max: 1_000_000 }),
      ipBurst: r.int('API_RATE_LIMIT_IP_BURST', { min: 1, max: 1_000_000 }),
      subjectPerSecond: r.int('API_RATE_LIMIT_SUBJECT_RPS', { min: 0, max: 1_000_000 }),
      subjectBurst: r.int('API_RATE_LIMIT_SUBJECT_BURST', { min: 1, max: 1_000_000 }),
    },
    corsOrigins: readOrigins(r),
    bodyLimitBytes: r.int('API_BODY_LIMIT_BYTES', { min: 1024, max: 16 * 1024 * 1024 }),
    trunkSecretKey,
    metricsEnabled: r.bool('METRICS_ENABLED'),
    metricsToken: r.optionalString('METRICS_TOKEN'),
  };

  // AI platform
  const aiUrl = r.optionalUrl('AI_PLATFORM_URL', ['ws:', 'wss:']);
  const ai: AiConfig = {
    platformUrl: aiUrl === undefined ? undefined : r.raw('AI_PLATFORM_URL'),
    token: r.optionalString('AI_PLATFORM_TOKEN'),
    protocol: r.oneOf('AI_PROTOCOL', AI_PROTOCOLS),
    connectTimeoutMs: r.int('AI_CONNECT_TIMEOUT_MS', { min: 100, max: 120_000 }),
    reconnectS: r.int('AI_RECONNECT_S', { min: 0, max: 3600 }),
    maxSessions: r.int('AI_MAX_SESSIONS', { min: 0, max: 1_000_000 }),
    fallback: readAiFallback(r),
    fallbackMessage: r.optionalString('AI_FALLBACK_MESSAGE'),
    twilioAccountSid: readTwilioAccountSid(r),
    twilioAuthToken: r.optionalString('TWILIO_AUTH_TOKEN'),
  };

  // SMS
  const smsGatewayUri = r.optionalString('SMS_GATEWAY_URI');
  // RFC 3261 §19.1.1: sip:[user@]host[:port][;params]; a user part addresses the gateway's own service.
  if (smsGatewayUri !== undefined && !/^sips?:([^@\s]+@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(;[^\s?]*)?$/i.test(smsGatewayUri)) {
    throw new ConfigError('SMS_GATEWAY_URI', `must be a SIP URI such as sip:gw.example.com:5060 or sip:sms@gw.example.com;transport=tcp, got "${smsGatewayUri}"`);
  }
  const smsGatewayUsername = r.optionalString('SMS_GATEWAY_USERNAME');
  const smsGatewayPassword = r.optionalString('SMS_GATEWAY_PASSWORD');
  if (smsGatewayPassword !== undefined && smsGatewayUsername === undefined) throw new ConfigError('SMS_GATEWAY_USERNAME', 'is required when SMS_GATEWAY_PASSWORD is set');
  if (smsGatewayUsername !== undefined && smsGatewayUri === undefined) throw new ConfigError('SMS_GATEWAY_URI', 'is required when SMS_GATEWAY_USERNAME is set');
  const sms: SmsConfig = {
    gatewayUri: smsGatewayUri,
    gatewayUsername: smsGatewayUsername,
    gatewayPassword: smsGatewayPassword,
    segmenting: r.bool('SMS_SEGMENTING'),
    maxAttempts: r.int('SMS_MAX_ATTEMPTS', { min: 1, max: 100 }),
  };

  const config: Config = {
    env: nodeEnv,
    isProduction,
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS),
    shutdownGraceS: r.int('SHUTDOWN_GRACE_S', { min: 0, max: 86_400 }),
    sip,
    routing,
    rtp,
    database,
    api,
    ai,
    media: {
      recordingsDir: r.string('RECORDINGS_DIR', join(dataDir, 'recordings')),
      mohDir: r.string('MOH_DIR', join(dataDir, 'moh')),
      mohMode: r.oneOf('MOH_MODE', MOH_MODES),
      ttsCommand: readTtsCommand(r, env),
      transcriberUrl: r.optionalUrl('TRANSCRIBER_URL', ['http:', 'https:']) === undefined ? undefined : r.raw('TRANSCRIBER_URL'),
    },
    cluster: { instanceId, heartbeatS: r.int('INSTANCE_HEARTBEAT_S', { min: 1, max: 3600 }) },
    outbound: { proxy: outboundProxy, username: outboundUsername, password: outboundPassword },
    trunks,
    registrar,
    sms,
    webhookSigningKey: r.optionalString('WEBHOOK_SIGNING_KEY'),
  };
  return deepFreeze(config);
}

const SECRET_MASK = '***';

function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = SECRET_MASK;
    return u.toString();
  } catch {
    return SECRET_MASK;
  }
}

/** The configuration with secrets masked, for the start-up log line and the status endpoint. */
export function redactConfig(config: Config): Record<string, unknown> {
  const mask = (v: string | undefined): string | undefined => (v === undefined ? undefined : SECRET_MASK);
  return {
    ...config,
    sip: { ...config.sip, allowedCidrs: config.sip.allowedCidrs.map(formatCidr) },
    database: { ...config.database, url: redactUrl(config.database.url) },
    api: {
      ...config.api,
      allowedCidrs: config.api.allowedCidrs.map(formatCidr),
      jwtSecretKey: mask(config.api.jwtSecretKey),
      metricsToken: mask(config.api.metricsToken),
      trunkSecretKey: mask(config.api.trunkSecretKey),
    },
    ai: { ...config.ai, token: mask(config.ai.token), twilioAuthToken: mask(config.ai.twilioAuthToken) },
    outbound: { ...config.outbound, password: mask(config.outbound.password) },
    registrar: { ...config.registrar, secret: mask(config.registrar.secret) },
    sms: { ...config.sms, gatewayPassword: mask(config.sms.gatewayPassword) },
    webhookSigningKey: mask(config.webhookSigningKey),
  };
}
