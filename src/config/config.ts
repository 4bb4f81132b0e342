import { existsSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { formatCidr, parseCidr, type CidrBlock } from './cidr';
import { ConfigError } from './config-error';
import type { ConfigVariableName } from './config-variables';
import { EnvReader, isHostOrIp, type Env } from './env-reader';

export type NodeEnv = 'development' | 'production' | 'test';
export type SipTransportName = 'udp' | 'tcp' | 'tls';
export type DefaultRoute = 'ai' | 'answer' | 'echo' | 'reject';
export type AiProtocol = 'native' | 'twilio' | 'jambonz';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export const SIP_TRANSPORTS: readonly SipTransportName[] = ['udp', 'tcp', 'tls'];
export const DEFAULT_ROUTES: readonly DefaultRoute[] = ['ai', 'answer', 'echo', 'reject'];
export const AI_PROTOCOLS: readonly AiProtocol[] = ['native', 'twilio', 'jambonz'];
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];

/** Minimum HS256 secret length in production: 32 bytes = 256 bits, the HMAC-SHA256 key size (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_LENGTH = 32;

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
  readonly tcpIdleTimeoutS: number;
  /** Sources allowed to send SIP; empty = any. */
  readonly allowedCidrs: readonly CidrBlock[];
  readonly logMessages: boolean;
}

export interface RoutingConfig {
  readonly defaultRoute: DefaultRoute;
  /** Number answered by the built-in test responder; undefined = off. */
  readonly testNumber: string | undefined;
  /** How long the answer route rings before answering, ms. */
  readonly answerDelayMs: number;
}

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
  readonly metricsEnabled: boolean;
  readonly metricsToken: string | undefined;
}

export interface AiConfig {
  readonly platformUrl: string | undefined;
  readonly token: string | undefined;
  readonly protocol: AiProtocol;
  readonly connectTimeoutMs: number;
  readonly reconnectS: number;
}

export interface MediaConfig {
  readonly recordingsDir: string;
  readonly mohDir: string;
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

function readCidrs(r: EnvReader, name: ConfigVariableName): CidrBlock[] {
  return r.list(name).map((item) => {
    const block = parseCidr(item);
    if (!block) throw new ConfigError(name, `"${item}" is not an IP address or CIDR block`);
    return block;
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
    tcpIdleTimeoutS: r.int('SIP_TCP_IDLE_TIMEOUT_S', { min: 1, max: 86_400 }),
    allowedCidrs: readCidrs(r, 'SIP_ALLOWED_CIDRS'),
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
  };

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
  const api: ApiConfig = {
    port: r.port('API_PORT', true),
    bindAddress: r.ip('API_BIND_ADDRESS', '0.0.0.0'),
    allowedCidrs: readCidrs(r, 'API_ALLOWED_CIDRS'),
    trustProxy: r.bool('API_TRUST_PROXY'),
    jwtSecretKey,
    jwtPublicKeyFile,
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
    },
    cluster: { instanceId, heartbeatS: r.int('INSTANCE_HEARTBEAT_S', { min: 1, max: 3600 }) },
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
    },
    ai: { ...config.ai, token: mask(config.ai.token) },
    webhookSigningKey: mask(config.webhookSigningKey),
  };
}
