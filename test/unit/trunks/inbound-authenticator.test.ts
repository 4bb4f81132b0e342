import { DigestClient, type DigestCredentials } from '../../../src/sip/auth';
import { parseMessage, type SipMessage, type SipRequest, type SipResponse } from '../../../src/sip/message';
import type { OutOfDialogRequestOptions } from '../../../src/sip/ua';
import type { TrunkRecord } from '../../../src/store';
import { InboundAuthenticator, InboundIdentifier, TrunkRegistry, type DigestInboundVerdict, type TrunkRequester } from '../../../src/trunks';
import { VirtualClock } from '../../../src/util';
import { trunkRecord } from '../../helpers/trunk-record';

const SECRET = 'inbound-digest-test-secret-0123456789';
const URI = 'sip:5550100@voice.test';

/** A trunk with credentials (username carrier) that takes calls from 10.9.0.0/16. */
function trunk(over: Partial<TrunkRecord> = {}): TrunkRecord {
  return trunkRecord({ username: 'carrier', hasPassword: true, inboundCidrs: ['10.9.0.0/16'], codecs: ['PCMU'], ...over });
}

/** Parses `lines` (start line and headers) as one message with no body. */
function message(lines: string[]): SipMessage {
  const r = parseMessage(Buffer.from([...lines, 'Content-Length: 0', '', ''].join('\r\n')));
  if (!r.ok) throw new Error('bad fixture');
  return r.msg;
}

function invite(headers: [string, string][] = [], uri = URI, cseq = 1): SipRequest {
  return message([
    `INVITE ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKtest' + cseq,
    'Max-Forwards: 70',
    'From: <sip:+15550001111@203.0.113.5>;tag=f1',
    'To: <sip:5550100@voice.test>',
    'Call-ID: auth-test-call',
    `CSeq: ${cseq} INVITE`,
    'Contact: <sip:gw@203.0.113.5>',
    ...headers.map(([n, v]) => `${n}: ${v}`),
  ]) as SipRequest;
}

function response407(verdict: DigestInboundVerdict): SipResponse {
  if (verdict.kind !== 'challenge') throw new Error(`expected a challenge, got ${verdict.kind}`);
  return message([
    'SIP/2.0 407 Proxy Authentication Required',
    'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKtest1',
    'From: <sip:+15550001111@203.0.113.5>;tag=f1',
    'To: <sip:5550100@voice.test>;tag=t1',
    'Call-ID: auth-test-call',
    'CSeq: 1 INVITE',
    ...verdict.headers.map(([n, v]) => `${n}: ${v}`),
  ]) as SipResponse;
}

/**
 * The UAC side through the public client API: sends an INVITE without credentials to `auth` (an authenticator, an
 * identifier or a registry), answers its 407 and returns the retried INVITE.
 */
function retryWith(auth: { authenticate(req: SipRequest): DigestInboundVerdict }, credentials: DigestCredentials, uri = URI): SipRequest {
  const client = new DigestClient(credentials);
  const v = client.handleChallenge(response407(auth.authenticate(invite([], uri))), { method: 'INVITE', uri });
  if (!v.retry) throw new Error(`no retry: ${v.reason}`);
  return invite(v.headers, uri, 2);
}

describe('InboundAuthenticator', () => {
  let clock: VirtualClock;
  let auth: InboundAuthenticator;
  let carrier: TrunkRecord;

  beforeEach(() => {
    clock = new VirtualClock();
    auth = new InboundAuthenticator({ domain: 'voice.test', secret: SECRET, clock, nonceTtlMs: 60_000 });
    carrier = trunk();
    auth.rebuild([{ trunk: carrier, username: 'carrier', password: 'c4rrier-pass' }]);
  });

  it('challenges a request without credentials with 407, one Proxy-Authenticate per algorithm, SHA-256 first', () => {
    const v = auth.authenticate(invite());
    expect(v).toMatchObject({ kind: 'challenge', status: 407, stale: false, failure: 'missing' });
    const headers = v.kind === 'challenge' ? v.headers : [];
    expect(headers.map(([n]) => n)).toEqual(['Proxy-Authenticate', 'Proxy-Authenticate']);
    expect(headers[0][1]).toMatch(/^Digest realm="voice.test", nonce="[A-Za-z0-9_-]+", algorithm=SHA-256, qop="auth"$/);
    expect(headers[1][1]).toMatch(/algorithm=MD5/);
  });

  it('identifies the trunk from SHA-256 credentials (RFC 8760) with its password', () => {
    const v = auth.authenticate(retryWith(auth, { username: 'carrier', password: 'c4rrier-pass' }));
    expect(v).toEqual({ kind: 'trunk', trunk: carrier, algorithm: 'SHA-256' });
  });

  it('identifies the trunk from MD5 credentials', () => {
    const md5 = new InboundAuthenticator({ domain: 'voice.test', secret: SECRET, clock, algorithms: ['MD5'] });
    md5.rebuild([{ trunk: carrier, username: 'carrier', password: 'c4rrier-pass' }]);
    expect(md5.authenticate(retryWith(md5, { username: 'carrier', password: 'c4rrier-pass' }))).toEqual({ kind: 'trunk', trunk: carrier, algorithm: 'MD5' });
  });

  it('refuses a wrong password and an unknown user alike with 403', () => {
    expect(auth.authenticate(retryWith(auth, { username: 'carrier', password: 'wrong' }))).toMatchObject({ kind: 'refused', status: 403, failure: 'response', username: 'carrier' });
    expect(auth.authenticate(retryWith(auth, { username: 'nobody', password: 'c4rrier-pass' }))).toMatchObject({ kind: 'refused', status: 403, failure: 'unknown-user' });
  });

  it('answers an expired nonce with the right password by a fresh stale=true challenge, with a wrong one by 403', () => {
    const good = retryWith(auth, { username: 'carrier', password: 'c4rrier-pass' });
    const bad = retryWith(auth, { username: 'carrier', password: 'wrong' });
    clock.advance(60_001);
    const v = auth.authenticate(good);
    expect(v).toMatchObject({ kind: 'challenge', status: 407, stale: true, failure: 'stale' });
    expect(v.kind === 'challenge' && v.headers.every(([, h]) => h.endsWith(', stale=true'))).toBe(true);
    expect(auth.authenticate(bad)).toMatchObject({ kind: 'refused', status: 403 });
  });

  it('challenges again for a replayed nonce count, a nonce it never issued and a digest-uri of another request', () => {
    const retry = retryWith(auth, { username: 'carrier', password: 'c4rrier-pass' });
    expect(auth.authenticate(retry).kind).toBe('trunk');
    expect(auth.authenticate(retry)).toMatchObject({ kind: 'challenge', failure: 'replay', stale: false });
    const forged = retry.getHeader('Proxy-Authorization')!.replace(/nonce="[^"]+"/, 'nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"');
    expect(auth.authenticate(invite([['Proxy-Authorization', forged]], URI, 3))).toMatchObject({ kind: 'challenge', failure: 'nonce' });
    // Credentials computed for another Request-URI (RFC 7616 §3.4.6).
    const other = retryWith(auth, { username: 'carrier', password: 'c4rrier-pass' }, 'sip:5550199@voice.test');
    const moved = invite([['Proxy-Authorization', other.getHeader('Proxy-Authorization')!]], URI, 4);
    expect(auth.authenticate(moved)).toMatchObject({ kind: 'challenge', failure: 'uri' });
  });

  it('reads credentials sent in Authorization as well, and refuses unreadable ones with 400', () => {
    const retry = retryWith(auth, { username: 'carrier', password: 'c4rrier-pass' });
    const asAuthorization = invite([['Authorization', retry.getHeader('Proxy-Authorization')!]], URI, 2);
    expect(auth.authenticate(asAuthorization).kind).toBe('trunk');
    expect(auth.authenticate(invite([['Proxy-Authorization', 'Digest username="carrier", realm=']]))).toMatchObject({ kind: 'refused', status: 400, failure: 'malformed' });
  });

  it('challenges every realm in use and picks, among trunks sharing a username, the one whose password verifies', () => {
    const a = trunk({ username: 'shared', realm: null });
    const b = trunk({ username: 'shared', realm: null });
    const c = trunk({ username: 'carrier', realm: 'carrier.example' });
    auth.rebuild([
      { trunk: a, username: 'shared', password: 'pass-a' },
      { trunk: b, username: 'shared', password: 'pass-b' },
      { trunk: c, username: 'carrier', password: 'pass-c' },
    ]);
    expect(auth.realms).toEqual(['voice.test', 'carrier.example']);
    const v = auth.authenticate(invite());
    expect(v.kind === 'challenge' ? v.headers.map(([, h]) => /realm="([^"]+)"/.exec(h)![1]) : []).toEqual(['voice.test', 'voice.test', 'carrier.example', 'carrier.example']);
    expect(auth.authenticate(retryWith(auth, { username: 'shared', password: 'pass-b', realm: 'voice.test' }))).toMatchObject({ kind: 'trunk', trunk: b });
    expect(auth.authenticate(retryWith(auth, { username: 'carrier', password: 'pass-c', realm: 'carrier.example' }))).toMatchObject({ kind: 'trunk', trunk: c });
    // The realm's trunk is gone: its credentials are not ours any more, so the caller is challenged afresh.
    const stale = retryWith(auth, { username: 'carrier', password: 'pass-c', realm: 'carrier.example' });
    auth.rebuild([{ trunk: a, username: 'shared', password: 'pass-a' }]);
    expect(auth.authenticate(stale)).toMatchObject({ kind: 'challenge', failure: 'missing' });
  });

  it('is inactive without credentials', () => {
    auth.rebuild([]);
    expect(auth.active).toBe(false);
    expect(auth.realms).toEqual([]);
  });
});

describe('InboundIdentifier with digest', () => {
  const carrier = trunk();
  function identifier(open = false): InboundIdentifier {
    const auth = new InboundAuthenticator({ domain: 'voice.test', secret: SECRET });
    auth.rebuild([{ trunk: carrier, username: 'carrier', password: 'c4rrier-pass' }]);
    const id = new InboundIdentifier(open, auth);
    id.rebuild([carrier], new Map());
    return id;
  }

  it('wants digest only from sources no trunk address matches, with open inbound off', () => {
    const id = identifier();
    expect(id.wantsDigest('10.9.1.2')).toBe(false);
    expect(id.wantsDigest('203.0.113.5')).toBe(true);
    expect(identifier(true).wantsDigest('203.0.113.5')).toBe(false);
    expect(new InboundIdentifier(false).wantsDigest('203.0.113.5')).toBe(false);
  });

  it('counts challenges, authentications (as trunk requests) and failures (as refusals)', () => {
    const id = identifier();
    expect(id.authenticate(retryWith(id, { username: 'carrier', password: 'c4rrier-pass' })).kind).toBe('trunk');
    expect(id.authenticate(retryWith(id, { username: 'carrier', password: 'nope' })).kind).toBe('refused');
    expect(id.stats()).toEqual({ fromTrunk: 1, openAccepted: 0, refused: 1, challenged: 2, authenticated: 1, authFailed: 1 });
  });
});

describe('TrunkRegistry inbound digest', () => {
  const requester: TrunkRequester = {
    publicHost: '192.0.2.1',
    contactFor: () => '<sip:192.0.2.1:5060>',
    request: (_m: string, _u: string, _o: OutOfDialogRequestOptions) => Promise.reject(new Error('no network in this test')),
  };

  it('authenticates with the decrypted password of enabled inbound trunks only, in the trunk realm or SIP_DOMAIN', async () => {
    const withRealm = trunk({ username: 'gw', realm: 'carrier.example' });
    const disabled = trunk({ username: 'off', enabled: false });
    const outboundOnly = trunk({ username: 'out', supportsInbound: false });
    const noPassword = trunk({ username: 'nopw', hasPassword: false });
    const records = [withRealm, disabled, outboundOnly, noPassword];
    const registry = new TrunkRegistry({
      requester,
      trunks: { list: async () => records, password: async (id) => (records.find((r) => r.id === id)?.hasPassword ? `pw-${id.slice(-2)}` : undefined) },
      clock: new VirtualClock(),
      optionsIntervalMs: 0,
      reloadIntervalMs: 0,
      resolve: async (host, port, transport) => ({ target: { transport, address: host, port }, addresses: [host] }),
      inboundAuth: { domain: 'voice.test', secret: SECRET, algorithms: ['MD5'] },
    });
    await registry.start();
    try {
      expect(registry.wantsDigest('203.0.113.5')).toBe(true);
      // The trunk's own proxy address is identified by address: no challenge.
      expect(registry.wantsDigest(withRealm.proxyAddress)).toBe(false);
      const challenge = registry.authenticate(invite());
      expect(challenge.kind === 'challenge' ? challenge.headers.map(([, h]) => /realm="([^"]+)"/.exec(h)![1]) : []).toEqual(['carrier.example']);
      const answer = (username: string, password: string): DigestInboundVerdict => registry.authenticate(retryWith(registry, { username, password }));
      expect(answer('gw', `pw-${withRealm.id.slice(-2)}`)).toMatchObject({ kind: 'trunk', trunk: { id: withRealm.id } });
      expect(answer('off', `pw-${disabled.id.slice(-2)}`)).toMatchObject({ kind: 'refused', status: 403 });
      expect(answer('out', `pw-${outboundOnly.id.slice(-2)}`)).toMatchObject({ kind: 'refused', status: 403 });
      expect(registry.inboundStats()).toMatchObject({ authenticated: 1, authFailed: 2, fromTrunk: 1, refused: 2 });
    } finally {
      await registry.close();
    }
  });
});
