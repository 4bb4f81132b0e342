import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  CONFIG_VARIABLES,
  ConfigError,
  blockListHas,
  cidrBlockList,
  commandOnPath,
  configDocs,
  ESPEAK_TTS_COMMAND,
  loadConfig,
  parseCidr,
  redactConfig,
  type HostFacts,
} from '../../../src/config';

const host: HostFacts = { hostname: () => 'sip-node-1', primaryIpv4: () => '192.0.2.10', pid: 4242 };
const STRONG_SECRET = 'x'.repeat(32);

function load(env: Record<string, string | undefined>, facts: HostFacts = host) {
  return loadConfig(env, facts);
}

function errorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('gives every documented default on an empty environment', () => {
    const c = load({});
    expect(c.env).toBe('development');
    expect(c.isProduction).toBe(false);
    expect(c.logLevel).toBe('info');
    expect(c.sip).toMatchObject({
      domain: 'sip-node-1',
      bindAddress: '0.0.0.0',
      publicAddress: '192.0.2.10',
      port: 5060,
      tlsPort: 5061,
      transports: ['udp', 'tcp', 'tls'],
      tlsCertFile: undefined,
      t1Ms: 500,
      t2Ms: 4000,
      t4Ms: 5000,
      maxMessageBytes: 65535,
      tcpIdleTimeoutS: 300,
      allowedCidrs: [],
      logMessages: false,
    });
    expect(c.routing).toEqual({ defaultRoute: 'ai', testNumber: undefined, answerDelayMs: 0, blockedStatus: 603, ringMode: 'ringback' });
    expect(c.rtp).toEqual({ portMin: 10000, portMax: 20000, timeoutS: 60 });
    expect(c.database).toEqual({ url: undefined, poolMax: 10, dataDir: './data' });
    expect(c.api).toMatchObject({ port: 8000, bindAddress: '0.0.0.0', allowedCidrs: [], trustProxy: false, metricsEnabled: true, jwtSecretKey: undefined });
    expect(c.ai).toEqual({
      platformUrl: undefined,
      token: undefined,
      protocol: 'native',
      connectTimeoutMs: 3000,
      reconnectS: 10,
      fallback: { kind: 'hangup' },
      fallbackMessage: undefined,
      maxSessions: 100,
      twilioAccountSid: undefined,
      twilioAuthToken: undefined,
    });
    expect(c.media).toEqual({ recordingsDir: join('./data', 'recordings'), mohDir: join('./data', 'moh'), mohMode: 'shared' });
    expect(c.cluster).toEqual({ instanceId: 'sip-node-1-4242', heartbeatS: 5 });
    expect(c.shutdownGraceS).toBe(30);
  });

  it('falls back to localhost and 127.0.0.1 when the host offers nothing usable', () => {
    const c = load({}, { hostname: () => '', primaryIpv4: () => undefined, pid: 1 });
    expect(c.sip.domain).toBe('localhost');
    expect(c.sip.publicAddress).toBe('127.0.0.1');
  });

  it('treats empty values as unset', () => {
    expect(load({ SIP_PORT: '', LOG_LEVEL: '  ' }).sip.port).toBe(5060);
  });

  it('reads explicit values', () => {
    const c = load({
      SIP_DOMAIN: 'sip.example.com',
      SIP_PUBLIC_ADDRESS: '203.0.113.7',
      SIP_PORT: '0',
      SIP_TRANSPORTS: 'UDP, tcp',
      SIP_ALLOWED_CIDRS: '10.0.0.0/8, 2001:db8::/32, 198.51.100.4',
      DEFAULT_ROUTE: 'answer',
      SIP_TEST_NUMBER: '+15550001111',
      DATABASE_URL: 'postgresql://sip:secret@db:5432/sip',
      AI_PLATFORM_URL: 'wss://ai.example.com/ws/voice',
      AI_PROTOCOL: 'twilio',
      API_TRUST_PROXY: '1',
      SIP_LOG_MESSAGES: 'true',
      METRICS_ENABLED: '0',
      RTP_PORT_MIN: '30000',
      RTP_PORT_MAX: '30100',
      INSTANCE_ID: 'pod-0',
      KAMAILIO_SHARED_MEMORY: 'whatever',
      KAMAILIO_PKG_MEMORY: '32',
    });
    expect(c.sip.transports).toEqual(['udp', 'tcp']);
    expect(c.sip.port).toBe(0);
    expect(c.sip.allowedCidrs).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 4 },
      { address: '2001:db8::', prefix: 32, family: 6 },
      { address: '198.51.100.4', prefix: 32, family: 4 },
    ]);
    expect(c.routing).toEqual({ defaultRoute: 'answer', testNumber: '+15550001111', answerDelayMs: 0, blockedStatus: 603, ringMode: 'ringback' });
    expect(c.database.url).toBe('postgresql://sip:secret@db:5432/sip');
    expect(c.ai.platformUrl).toBe('wss://ai.example.com/ws/voice');
    expect(c.ai.protocol).toBe('twilio');
    expect(c.api.trustProxy).toBe(true);
    expect(c.api.metricsEnabled).toBe(false);
    expect(c.sip.logMessages).toBe(true);
    expect(c.rtp).toMatchObject({ portMin: 30000, portMax: 30100 });
    expect(c.cluster.instanceId).toBe('pod-0');
  });

  it('is deeply frozen', () => {
    const c = load({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.sip)).toBe(true);
    expect(Object.isFrozen(c.sip.transports)).toBe(true);
    expect(() => {
      (c.sip as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('loadConfig validation names the variable', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['NODE_ENV enum', { NODE_ENV: 'staging' }, 'NODE_ENV'],
    ['SIP_PORT not a number', { SIP_PORT: '50x' }, 'SIP_PORT'],
    ['SIP_PORT out of range', { SIP_PORT: '70000' }, 'SIP_PORT'],
    ['SIP_TLS_PORT negative', { SIP_TLS_PORT: '-1' }, 'SIP_TLS_PORT'],
    ['SIP_TLS_PORT equal to SIP_PORT', { SIP_PORT: '5070', SIP_TLS_PORT: '5070' }, 'SIP_TLS_PORT'],
    ['API_PORT not a number', { API_PORT: 'http' }, 'API_PORT'],
    ['SIP_TRANSPORTS unknown', { SIP_TRANSPORTS: 'udp,sctp' }, 'SIP_TRANSPORTS'],
    ['SIP_TRANSPORTS empty list', { SIP_TRANSPORTS: ',' }, 'SIP_TRANSPORTS'],
    ['SIP_BIND_ADDRESS not an IP', { SIP_BIND_ADDRESS: 'eth0' }, 'SIP_BIND_ADDRESS'],
    ['SIP_PUBLIC_ADDRESS invalid host', { SIP_PUBLIC_ADDRESS: 'bad host!' }, 'SIP_PUBLIC_ADDRESS'],
    ['SIP_DOMAIN invalid', { SIP_DOMAIN: '-bad-.example' }, 'SIP_DOMAIN'],
    ['SIP_T1_MS zero', { SIP_T1_MS: '0' }, 'SIP_T1_MS'],
    ['SIP_T2_MS below T1', { SIP_T1_MS: '1000', SIP_T2_MS: '500' }, 'SIP_T2_MS'],
    ['SIP_MAX_MESSAGE_BYTES too small', { SIP_MAX_MESSAGE_BYTES: '512' }, 'SIP_MAX_MESSAGE_BYTES'],
    ['SIP_ALLOWED_CIDRS malformed', { SIP_ALLOWED_CIDRS: '10.0.0.0/33' }, 'SIP_ALLOWED_CIDRS'],
    ['API_ALLOWED_CIDRS malformed', { API_ALLOWED_CIDRS: 'office' }, 'API_ALLOWED_CIDRS'],
    ['SIP_TEST_NUMBER with spaces', { SIP_TEST_NUMBER: '555 1234' }, 'SIP_TEST_NUMBER'],
    ['DEFAULT_ROUTE enum', { DEFAULT_ROUTE: 'voicemail' }, 'DEFAULT_ROUTE'],
    ['RTP_PORT_MIN odd', { RTP_PORT_MIN: '10001' }, 'RTP_PORT_MIN'],
    ['RTP_PORT_MAX odd', { RTP_PORT_MAX: '20001' }, 'RTP_PORT_MAX'],
    ['RTP_PORT_MAX not above min', { RTP_PORT_MIN: '20000', RTP_PORT_MAX: '20000' }, 'RTP_PORT_MAX'],
    ['RTP_PORT_MIN below 1024', { RTP_PORT_MIN: '80' }, 'RTP_PORT_MIN'],
    ['RTP_TIMEOUT_S zero', { RTP_TIMEOUT_S: '0' }, 'RTP_TIMEOUT_S'],
    ['DATABASE_URL not a URL', { DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    ['DATABASE_URL wrong scheme', { DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL'],
    ['AI_PLATFORM_URL http', { AI_PLATFORM_URL: 'http://ai.example.com' }, 'AI_PLATFORM_URL'],
    ['AI_PROTOCOL enum', { AI_PROTOCOL: 'grpc' }, 'AI_PROTOCOL'],
    ['AI_CONNECT_TIMEOUT_MS float', { AI_CONNECT_TIMEOUT_MS: '1.5' }, 'AI_CONNECT_TIMEOUT_MS'],
    ['LOG_LEVEL enum', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    ['API_TRUST_PROXY boolean', { API_TRUST_PROXY: 'yes' }, 'API_TRUST_PROXY'],
    ['METRICS_ENABLED boolean', { METRICS_ENABLED: 'on' }, 'METRICS_ENABLED'],
    ['INSTANCE_ID characters', { INSTANCE_ID: 'pod 0/1' }, 'INSTANCE_ID'],
    ['TLS_CERT_FILE missing file', { TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: '/nonexistent/key.pem' }, 'TLS_CERT_FILE'],
    ['JWT_PUBLIC_KEY_FILE missing file', { JWT_PUBLIC_KEY_FILE: '/nonexistent/jwt.pem' }, 'JWT_PUBLIC_KEY_FILE'],
    ['DATABASE_POOL_MAX zero', { DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX'],
  ];

  it.each(cases)('%s', (_name, env, variable) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
  });

  describe('files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sip-config-'));
      writeFileSync(join(dir, 'cert.pem'), 'cert');
      writeFileSync(join(dir, 'key.pem'), 'key');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('requires the key with the certificate and the certificate with the key', () => {
      expect(errorOf({ TLS_CERT_FILE: join(dir, 'cert.pem') }).variable).toBe('TLS_KEY_FILE');
      expect(errorOf({ TLS_KEY_FILE: join(dir, 'key.pem') }).variable).toBe('TLS_CERT_FILE');
      const c = load({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') });
      expect(c.sip.tlsCertFile).toBe(join(dir, 'cert.pem'));
    });

    it('accepts a JWT public key file instead of a secret in production', () => {
      writeFileSync(join(dir, 'jwt.pem'), 'pub');
      const c = load({ NODE_ENV: 'production', SIP_TRANSPORTS: 'udp,tcp', JWT_PUBLIC_KEY_FILE: join(dir, 'jwt.pem'), TRUNK_SECRET_KEY: 't'.repeat(32) });
      expect(c.api.jwtPublicKeyFile).toBe(join(dir, 'jwt.pem'));
    });
  });
});

describe('production rules', () => {
  const prod = { NODE_ENV: 'production', SIP_TRANSPORTS: 'udp,tcp' };

  it('refuses to start without JWT_SECRET_KEY', () => {
    const err = errorOf(prod);
    expect(err.variable).toBe('JWT_SECRET_KEY');
  });

  it('refuses a weak JWT_SECRET_KEY', () => {
    const err = errorOf({ ...prod, JWT_SECRET_KEY: 'your-secret-key-here' });
    expect(err.variable).toBe('JWT_SECRET_KEY');
    expect(err.message).toContain('32');
  });

  it('starts with a 32-character secret', () => {
    const c = load({ ...prod, JWT_SECRET_KEY: STRONG_SECRET, TRUNK_SECRET_KEY: 't'.repeat(32) });
    expect(c.isProduction).toBe(true);
    expect(c.api.jwtSecretKey).toBe(STRONG_SECRET);
  });

  it('requires a certificate when TLS is enabled', () => {
    const err = errorOf({ NODE_ENV: 'production', JWT_SECRET_KEY: STRONG_SECRET, SIP_TRANSPORTS: 'udp,tls' });
    expect(err.variable).toBe('TLS_CERT_FILE');
  });

  it('allows a weak secret outside production', () => {
    expect(load({ JWT_SECRET_KEY: 'dev' }).api.jwtSecretKey).toBe('dev');
  });
});

describe('redactConfig', () => {
  it('masks secrets and the database password', () => {
    const c = load({
      JWT_SECRET_KEY: STRONG_SECRET,
      DATABASE_URL: 'postgresql://sip:hunter2@db:5432/sip',
      AI_PLATFORM_TOKEN: 'tok',
      METRICS_TOKEN: 'mt',
      WEBHOOK_SIGNING_KEY: 'wk',
      API_ALLOWED_CIDRS: '10.0.0.0/8',
    });
    const text = JSON.stringify(redactConfig(c));
    for (const secret of [STRONG_SECRET, 'hunter2', '"tok"', '"mt"', '"wk"']) expect(text).not.toContain(secret);
    expect(text).toContain('db:5432');
    expect(text).toContain('10.0.0.0/8');
  });
});

describe('music on hold and TTS', () => {
  it('reads MOH_MODE (shared by default, per-listener) and refuses other values', () => {
    expect(load({ MOH_MODE: 'per-listener' }).media.mohMode).toBe('per-listener');
    expect(load({ MOH_MODE: 'Shared' }).media.mohMode).toBe('shared');
    expect(errorOf({ MOH_MODE: 'radio' }).message).toMatch(/MOH_MODE/);
  });

  it('defaults TTS_COMMAND to espeak-ng only when espeak-ng is an executable on PATH; none turns TTS off', () => {
    const bin = mkdtempSync(join(tmpdir(), 'tts-path-'));
    try {
      expect(load({ PATH: bin }).media.ttsCommand).toBeUndefined();
      writeFileSync(join(bin, 'espeak-ng'), '#!/bin/sh\n', { mode: 0o644 });
      expect(load({ PATH: bin }).media.ttsCommand).toBeUndefined();
      chmodSync(join(bin, 'espeak-ng'), 0o755);
      expect(commandOnPath('espeak-ng', `/nowhere${delimiter}${bin}`)).toBe(true);
      expect(load({ PATH: `relative${delimiter}${bin}` }).media.ttsCommand).toBe(ESPEAK_TTS_COMMAND);
      expect(load({ PATH: bin, TTS_COMMAND: 'none' }).media.ttsCommand).toBeUndefined();
      expect(load({ PATH: bin, TTS_COMMAND: 'say -o {out} {text}' }).media.ttsCommand).toBe('say -o {out} {text}');
      expect(load({}).media.ttsCommand).toBeUndefined();
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('configDocs', () => {
  it('renders a markdown table with one row per variable', () => {
    const doc = configDocs();
    const lines = doc.split('\n');
    expect(lines[0]).toBe('| Variable | Default | Description |');
    expect(lines).toHaveLength(CONFIG_VARIABLES.length + 2);
    for (const name of ['SIP_PORT', 'DATABASE_URL', 'JWT_SECRET_KEY', 'KAMAILIO_SHARED_MEMORY', 'RTP_PORT_MIN']) {
      expect(doc).toContain(`| \`${name}\` |`);
    }
    expect(doc).toContain('| `SIP_PORT` | `5060` |');
    for (const line of lines) expect(line.split(/(?<!\\)\|/)).toHaveLength(5);
  });
});

describe('CIDR helpers', () => {
  it('parses blocks and matches addresses, including IPv4-mapped IPv6', () => {
    expect(parseCidr('10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 4 });
    expect(parseCidr('10.0.0.0/x')).toBeUndefined();
    expect(parseCidr('::1/129')).toBeUndefined();
    const list = cidrBlockList([parseCidr('10.0.0.0/8')!, parseCidr('2001:db8::/32')!]);
    expect(blockListHas(list, '10.200.0.1')).toBe(true);
    expect(blockListHas(list, '::ffff:10.200.0.1')).toBe(true);
    expect(blockListHas(list, '11.0.0.1')).toBe(false);
    expect(blockListHas(list, '2001:db8::5')).toBe(true);
    expect(blockListHas(list, 'garbage')).toBe(false);
  });
});
