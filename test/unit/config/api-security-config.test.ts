import { ConfigError, loadConfig, redactConfig, type HostFacts } from '../../../src/config';

const host: HostFacts = { hostname: () => 'sip-node-1', primaryIpv4: () => '192.0.2.10', pid: 4242 };
const load = (env: Record<string, string | undefined>) => loadConfig(env, host);

function variableOf(env: Record<string, string | undefined>): string {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.variable;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('API security configuration', () => {
  it('has production-sane defaults', () => {
    const c = load({});
    expect(c.api).toMatchObject({
      jwtAudience: undefined,
      jwtIssuer: undefined,
      rateLimit: { ipPerSecond: 20, ipBurst: 40, subjectPerSecond: 50, subjectBurst: 100 },
      corsOrigins: [],
      bodyLimitBytes: 65536,
      trunkSecretKey: undefined,
    });
    expect(c.sip.flood).toEqual({ maxRequests: 2000, windowS: 2, banS: 60 });
  });

  it('reads explicit values', () => {
    const c = load({
      JWT_AUDIENCE: 'sip-api',
      JWT_ISSUER: 'https://auth.example.com',
      API_RATE_LIMIT_IP_RPS: '0',
      API_RATE_LIMIT_IP_BURST: '5',
      API_RATE_LIMIT_SUBJECT_RPS: '7',
      API_RATE_LIMIT_SUBJECT_BURST: '9',
      API_CORS_ORIGINS: 'https://console.example.com, http://localhost:3000',
      API_BODY_LIMIT_BYTES: '2048',
      TRUNK_SECRET_KEY: 's'.repeat(40),
      SIP_FLOOD_MAX_REQUESTS: '0',
      SIP_FLOOD_WINDOW_S: '5',
      SIP_FLOOD_BAN_S: '300',
    });
    expect(c.api).toMatchObject({
      jwtAudience: 'sip-api',
      jwtIssuer: 'https://auth.example.com',
      rateLimit: { ipPerSecond: 0, ipBurst: 5, subjectPerSecond: 7, subjectBurst: 9 },
      corsOrigins: ['https://console.example.com', 'http://localhost:3000'],
      bodyLimitBytes: 2048,
      trunkSecretKey: 's'.repeat(40),
    });
    expect(c.sip.flood).toEqual({ maxRequests: 0, windowS: 5, banS: 300 });
    expect(load({ API_CORS_ORIGINS: '*' }).api.corsOrigins).toEqual(['*']);
  });

  it.each([
    [{ API_CORS_ORIGINS: 'console.example.com' }, 'API_CORS_ORIGINS'],
    [{ API_CORS_ORIGINS: 'https://console.example.com/app' }, 'API_CORS_ORIGINS'],
    [{ API_CORS_ORIGINS: 'ftp://example.com' }, 'API_CORS_ORIGINS'],
    [{ API_BODY_LIMIT_BYTES: '10' }, 'API_BODY_LIMIT_BYTES'],
    [{ API_RATE_LIMIT_IP_BURST: '0' }, 'API_RATE_LIMIT_IP_BURST'],
    [{ API_RATE_LIMIT_SUBJECT_RPS: '-1' }, 'API_RATE_LIMIT_SUBJECT_RPS'],
    [{ TRUNK_SECRET_KEY: 'short' }, 'TRUNK_SECRET_KEY'],
    [{ SIP_FLOOD_WINDOW_S: '0' }, 'SIP_FLOOD_WINDOW_S'],
    [{ SIP_FLOOD_MAX_REQUESTS: 'many' }, 'SIP_FLOOD_MAX_REQUESTS'],
  ])('refuses %j naming the variable', (env, variable) => {
    expect(variableOf(env)).toBe(variable);
  });

  it('requires TRUNK_SECRET_KEY in production', () => {
    const prod = { NODE_ENV: 'production', SIP_TRANSPORTS: 'udp,tcp', JWT_SECRET_KEY: 'j'.repeat(32) };
    expect(variableOf(prod)).toBe('TRUNK_SECRET_KEY');
    expect(load({ ...prod, TRUNK_SECRET_KEY: 't'.repeat(32) }).api.trunkSecretKey).toBe('t'.repeat(32));
  });

  it('masks the trunk secret in the redacted view', () => {
    const api = redactConfig(load({ TRUNK_SECRET_KEY: 't'.repeat(32) }))['api'] as Record<string, unknown>;
    expect(api['trunkSecretKey']).toBe('***');
  });
});
