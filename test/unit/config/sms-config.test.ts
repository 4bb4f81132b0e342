import { ConfigError, configDocs, loadConfig, redactConfig, type HostFacts } from '../../../src/config';

const host: HostFacts = { hostname: () => 'sip-node-1', primaryIpv4: () => '192.0.2.10', pid: 4242 };

function variableOf(env: Record<string, string>): string {
  try {
    loadConfig(env, host);
  } catch (err) {
    if (err instanceof ConfigError) return err.variable;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('SMS configuration', () => {
  it('defaults to the trunks, one MESSAGE per text and 5 attempts', () => {
    expect(loadConfig({}, host).sms).toEqual({ gatewayUri: undefined, gatewayUsername: undefined, gatewayPassword: undefined, segmenting: false, maxAttempts: 5 });
  });

  it.each(['sip:gw.example.com', 'sip:10.0.0.5:5070', 'sips:sms@gw.example.com;transport=tls', 'sip:[2001:db8::1]:5060', 'SIP:gw.example.com;transport=tcp'])('accepts the gateway URI %s', (uri) => {
    expect(loadConfig({ SMS_GATEWAY_URI: uri }, host).sms.gatewayUri).toBe(uri);
  });

  it.each(['gw.example.com', 'http://gw.example.com', 'sip:', 'sip:gw example.com', 'tel:+15550100'])('refuses the gateway URI %s naming SMS_GATEWAY_URI', (uri) => {
    expect(variableOf({ SMS_GATEWAY_URI: uri })).toBe('SMS_GATEWAY_URI');
  });

  it('reads segmenting, attempts and gateway credentials, and masks the password', () => {
    const c = loadConfig(
      { SMS_GATEWAY_URI: 'sip:gw.example.com', SMS_GATEWAY_USERNAME: 'acct', SMS_GATEWAY_PASSWORD: 'hunter2-sms', SMS_SEGMENTING: 'true', SMS_MAX_ATTEMPTS: '8' },
      host,
    );
    expect(c.sms).toEqual({ gatewayUri: 'sip:gw.example.com', gatewayUsername: 'acct', gatewayPassword: 'hunter2-sms', segmenting: true, maxAttempts: 8 });
    const redacted = JSON.stringify(redactConfig(c));
    expect(redacted).not.toContain('hunter2-sms');
    expect(redacted).toContain('acct');
  });

  it.each([
    [{ SMS_MAX_ATTEMPTS: '0' }, 'SMS_MAX_ATTEMPTS'],
    [{ SMS_MAX_ATTEMPTS: '101' }, 'SMS_MAX_ATTEMPTS'],
    [{ SMS_MAX_ATTEMPTS: 'many' }, 'SMS_MAX_ATTEMPTS'],
    [{ SMS_SEGMENTING: 'sometimes' }, 'SMS_SEGMENTING'],
    [{ SMS_GATEWAY_URI: 'sip:gw.example.com', SMS_GATEWAY_PASSWORD: 'x' }, 'SMS_GATEWAY_USERNAME'],
    [{ SMS_GATEWAY_USERNAME: 'acct' }, 'SMS_GATEWAY_URI'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(variableOf(env)).toBe(variable);
  });

  it('documents the SMS variables with their defaults', () => {
    const doc = configDocs();
    expect(doc).toContain('| `SMS_SEGMENTING` | `false` |');
    expect(doc).toContain('| `SMS_MAX_ATTEMPTS` | `5` |');
    expect(doc).toContain('| `SMS_GATEWAY_URI` | (unset) |');
  });
});
