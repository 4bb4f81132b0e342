import {
  defaultPort,
  isReliableTransport,
  normalizeAddress,
  shouldUseStream,
  toTransportProtocol,
} from '../../../../src/sip/transport';

describe('defaultPort', () => {
  it.each([
    ['UDP', 5060],
    ['udp', 5060],
    ['TCP', 5060],
    ['SCTP', 5060],
    ['TLS', 5061],
    ['tls', 5061],
    ['WS', 80],
    ['WSS', 443],
  ])('%s -> %d', (t, port) => expect(defaultPort(t)).toBe(port));
});

describe('shouldUseStream (RFC 3261 §18.1.1)', () => {
  it('keeps a request of up to 1300 bytes on UDP when the MTU is unknown', () => {
    expect(shouldUseStream(1300)).toBe(false);
    expect(shouldUseStream(200)).toBe(false);
  });
  it('moves a request over 1300 bytes to a stream when the MTU is unknown', () => {
    expect(shouldUseStream(1301)).toBe(true);
  });
  it('moves a request within 200 bytes of a known path MTU', () => {
    expect(shouldUseStream(1300, 1500)).toBe(false);
    expect(shouldUseStream(1301, 1500)).toBe(true);
    expect(shouldUseStream(9000, 9200)).toBe(false);
    expect(shouldUseStream(9001, 9200)).toBe(true);
  });
});

describe('toTransportProtocol / isReliableTransport', () => {
  it.each([
    ['udp', 'UDP', false],
    ['Tcp', 'TCP', true],
    ['TLS', 'TLS', true],
    ['SCTP', null, true],
    ['WS', null, true],
    ['WSS', null, true],
    ['FOO', null, false],
  ] as const)('%s', (token, proto, reliable) => {
    expect(toTransportProtocol(token)).toBe(proto);
    expect(isReliableTransport(token)).toBe(reliable);
  });
});

describe('normalizeAddress', () => {
  it('turns IPv4-mapped IPv6 into dotted quad', () => expect(normalizeAddress('::ffff:192.0.2.7')).toBe('192.0.2.7'));
  it('leaves plain IPv4 and IPv6 alone', () => {
    expect(normalizeAddress('192.0.2.7')).toBe('192.0.2.7');
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('::ffff:abcd')).toBe('::ffff:abcd');
  });
});
