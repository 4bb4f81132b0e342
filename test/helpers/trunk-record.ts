import type { TrunkRecord } from '../../src/store';

let seq = 0;

/**
 * A trunk as the store returns it, for unit tests: each call has the next id, name and proxy address of this test
 * file (`00000000-0000-4000-8000-<seq>`, `trunk-<seq>`, `198.51.100.<seq>`); no credentials, outbound and inbound,
 * enabled, status unknown; `over` replaces any field.
 */
export function trunkRecord(over: Partial<TrunkRecord> = {}): TrunkRecord {
  seq++;
  return {
    id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    name: `trunk-${seq}`,
    provider: null,
    proxyAddress: `198.51.100.${seq}`,
    proxyPort: 5060,
    transport: 'udp',
    username: null,
    hasPassword: false,
    realm: null,
    fromDomain: null,
    callerId: null,
    register: false,
    registerExpiresS: 3600,
    supportsOutbound: true,
    supportsInbound: true,
    inboundCidrs: [],
    prefixes: [],
    codecs: ['PCMU', 'PCMA'],
    dialPrefix: '',
    stripDigits: 0,
    priority: 100,
    weight: 1,
    maxConcurrentCalls: null,
    enabled: true,
    status: 'unknown',
    statusChangedAt: null,
    metadata: {},
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...over,
  };
}
