import { responseTarget, type RequestOrigin, type ViaRouting } from '../../../../src/sip/transport';

const udpSource: RequestOrigin = { transport: 'UDP', address: '203.0.113.9', port: 40000 };
const tcpSource: RequestOrigin = { transport: 'TCP', address: '203.0.113.9', port: 40001, connectionId: 17 };
const tlsSource: RequestOrigin = { transport: 'TLS', address: '203.0.113.9', port: 40002, connectionId: 18 };

interface Case {
  via: ViaRouting;
  source?: RequestOrigin;
  expected: ReturnType<typeof responseTarget>;
}

// Keyed by case name (table-driven, STYLE §6).
const cases: Record<string, Case> = {
  // RFC 3261 §18.2.2 ¶1: reliable transport -> the connection the request came on.
  'TCP: back on the request connection': {
    via: { transport: 'TCP', host: 'pc.example.com', port: 5070, received: '203.0.113.9' },
    source: tcpSource,
    expected: { transport: 'TCP', address: '203.0.113.9', port: 5070, connectionId: 17 },
  },
  'TLS: back on the request connection, default port 5061 for a reopen': {
    via: { transport: 'TLS', host: 'pc.example.com', received: '203.0.113.9' },
    source: tlsSource,
    expected: { transport: 'TLS', address: '203.0.113.9', port: 5061, connectionId: 18 },
  },
  'TCP without received: source address for a reopen, sent-by port': {
    via: { transport: 'TCP', host: '203.0.113.9', port: 5080 },
    source: tcpSource,
    expected: { transport: 'TCP', address: '203.0.113.9', port: 5080, connectionId: 17 },
  },
  'TCP: rport is ignored on streams (RFC 3581 §4 covers unreliable transports)': {
    via: { transport: 'TCP', host: '10.0.0.1', port: 5060, received: '203.0.113.9', rport: 40001 },
    source: tcpSource,
    expected: { transport: 'TCP', address: '203.0.113.9', port: 5060, connectionId: 17 },
  },
  'TCP: connection wins over maddr': {
    via: { transport: 'TCP', host: '10.0.0.1', maddr: '239.1.1.1' },
    source: tcpSource,
    expected: { transport: 'TCP', address: '203.0.113.9', port: 5060, connectionId: 17 },
  },
  'Via says UDP but the request came over TCP: answer on the connection': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5060 },
    source: tcpSource,
    expected: { transport: 'TCP', address: '203.0.113.9', port: 5060, connectionId: 17 },
  },
  'TCP without a known source: received address, default port': {
    via: { transport: 'TCP', host: 'pc.example.com', received: '198.51.100.2' },
    expected: { transport: 'TCP', address: '198.51.100.2', port: 5060 },
  },
  'TCP with neither source nor received: sent-by': {
    via: { transport: 'tcp', host: 'pc.example.com', port: 5090 },
    expected: { transport: 'TCP', address: 'pc.example.com', port: 5090 },
  },
  'SCTP without a connection: not a transport of this layer': {
    via: { transport: 'SCTP', host: 'pc.example.com' },
    expected: null,
  },
  'WS without a connection: not a transport of this layer': {
    via: { transport: 'WS', host: 'df7jal23ls0d.invalid' },
    expected: null,
  },
  // §18.2.2 ¶2: maddr.
  'UDP maddr with sent-by port': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5062, maddr: '239.255.255.1', received: '203.0.113.9' },
    source: udpSource,
    expected: { transport: 'UDP', address: '239.255.255.1', port: 5062 },
  },
  'UDP maddr without port: 5060': {
    via: { transport: 'UDP', host: '10.0.0.1', maddr: '192.0.2.50' },
    source: udpSource,
    expected: { transport: 'UDP', address: '192.0.2.50', port: 5060 },
  },
  'UDP maddr beats rport (RFC 3581 §4: only without maddr)': {
    via: { transport: 'UDP', host: '10.0.0.1', maddr: '192.0.2.50', rport: 40000, received: '203.0.113.9' },
    source: udpSource,
    expected: { transport: 'UDP', address: '192.0.2.50', port: 5060 },
  },
  // RFC 3581 §4: received + rport.
  'UDP rport filled in: received and rport': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5060, received: '203.0.113.9', rport: 40000 },
    source: udpSource,
    expected: { transport: 'UDP', address: '203.0.113.9', port: 40000 },
  },
  'UDP rport requested without value: source address and port': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5060, rport: null },
    source: udpSource,
    expected: { transport: 'UDP', address: '203.0.113.9', port: 40000 },
  },
  'UDP rport requested, host equals source: source port still used': {
    via: { transport: 'UDP', host: '203.0.113.9', port: 5060, rport: null },
    source: udpSource,
    expected: { transport: 'UDP', address: '203.0.113.9', port: 40000 },
  },
  'UDP rport requested but no source known: sent-by port': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5070, received: '203.0.113.9', rport: null },
    expected: { transport: 'UDP', address: '203.0.113.9', port: 5070 },
  },
  // §18.2.2 ¶3: received without rport.
  'UDP received without rport: received and sent-by port': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5070, received: '203.0.113.9' },
    source: udpSource,
    expected: { transport: 'UDP', address: '203.0.113.9', port: 5070 },
  },
  'UDP received without rport or port: 5060': {
    via: { transport: 'UDP', host: '10.0.0.1', received: '203.0.113.9' },
    source: udpSource,
    expected: { transport: 'UDP', address: '203.0.113.9', port: 5060 },
  },
  'UDP without received: the source address (what received would say), sent-by port': {
    via: { transport: 'UDP', host: '10.0.0.1', port: 5070 },
    source: udpSource,
    expected: { transport: 'UDP', address: '203.0.113.9', port: 5070 },
  },
  // §18.2.2 ¶4: sent-by.
  'UDP with only sent-by: host and port': {
    via: { transport: 'UDP', host: 'pc.example.com', port: 5075 },
    expected: { transport: 'UDP', address: 'pc.example.com', port: 5075 },
  },
  'UDP with only sent-by host: 5060': {
    via: { transport: 'udp', host: '198.51.100.4' },
    expected: { transport: 'UDP', address: '198.51.100.4', port: 5060 },
  },
  'IPv6 received and rport': {
    via: { transport: 'UDP', host: '[2001:db8::5]', port: 5060, received: '2001:db8::9', rport: 41000 },
    expected: { transport: 'UDP', address: '2001:db8::9', port: 41000 },
  },
};

describe('responseTarget (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  it.each(Object.entries(cases))('%s', (_name, c) => {
    expect(responseTarget(c.via, c.source)).toEqual(c.expected);
  });
});
