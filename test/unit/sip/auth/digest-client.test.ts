import { DigestClient, computeHa1, parseDigestAuthorization } from '../../../../src/sip/auth';
import { parseMessage, type SipResponse } from '../../../../src/sip/message';

function challengeResponse(status: 401 | 407, challenges: string[]): SipResponse {
  const header = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  const lines = [
    `SIP/2.0 ${status} ${status === 401 ? 'Unauthorized' : 'Proxy Authentication Required'}`,
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc',
    'From: <sip:alice@example.com>;tag=1',
    'To: <sip:bob@example.com>;tag=2',
    'Call-ID: c1',
    'CSeq: 1 INVITE',
    ...challenges.map((c) => `${header}: ${c}`),
    'Content-Length: 0',
    '',
    '',
  ];
  const r = parseMessage(Buffer.from(lines.join('\r\n')));
  if (!r.ok || r.msg.isRequest) throw new Error('bad fixture');
  return r.msg as SipResponse;
}

const INVITE = { method: 'INVITE', uri: 'sip:bob@example.com' };

describe('DigestClient', () => {
  it('answers a 401 with Authorization and a 407 with Proxy-Authorization, keeping both for the next retry', () => {
    const client = new DigestClient({ username: 'alice', password: 'pw' });
    const v1 = client.handleChallenge(challengeResponse(407, ['Digest realm="proxy", nonce="p1", qop="auth"']), INVITE);
    expect(v1.retry).toBe(true);
    if (!v1.retry) return;
    expect(v1.headers.map((h) => h[0])).toEqual(['Proxy-Authorization']);
    const v2 = client.handleChallenge(challengeResponse(401, ['Digest realm="uas", nonce="u1"']), INVITE);
    expect(v2.retry).toBe(true);
    if (!v2.retry) return;
    expect(v2.headers.map((h) => h[0]).sort()).toEqual(['Authorization', 'Proxy-Authorization']);
    // The proxy nonce authorizes its second request: nc counts up (RFC 7616 §3.4).
    const proxy = v2.headers.find((h) => h[0] === 'Proxy-Authorization')!;
    const parsed = parseDigestAuthorization(proxy[1]);
    expect(parsed.ok && parsed.credentials.nc).toBe('00000002');
  });

  it('gives up when re-challenged without stale=true: the credentials are wrong (RFC 7616 §3.3)', () => {
    const client = new DigestClient({ username: 'alice', password: 'wrong' });
    expect(client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n1"']), INVITE).retry).toBe(true);
    expect(client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n1"']), INVITE)).toEqual({ retry: false, reason: 'rejected' });
  });

  it('gives up on a fresh nonce without stale too (no password loop)', () => {
    const client = new DigestClient({ username: 'alice', password: 'wrong' });
    client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n1"']), INVITE);
    expect(client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n2"']), INVITE)).toEqual({ retry: false, reason: 'rejected' });
  });

  it('retries on stale=true with the new nonce, a bounded number of times', () => {
    const client = new DigestClient({ username: 'alice', password: 'pw' }, { maxStaleRetries: 2 });
    client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n1", qop="auth"']), INVITE);
    const v = client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n2", qop="auth", stale=true']), INVITE);
    expect(v.retry).toBe(true);
    if (v.retry) {
      const p = parseDigestAuthorization(v.headers[0][1]);
      expect(p.ok && [p.credentials.nonce, p.credentials.nc]).toEqual(['n2', '00000001']);
    }
    expect(client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n3", stale=true']), INVITE).retry).toBe(true);
    expect(client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n4", stale=true']), INVITE)).toEqual({ retry: false, reason: 'too-many' });
  });

  it('reports challenges it cannot answer', () => {
    const client = new DigestClient({ username: 'alice', ha1: computeHa1('MD5', 'alice', 'r', 'pw') });
    expect(client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n", algorithm=SHA-256']), INVITE)).toEqual({ retry: false, reason: 'unsupported' });
    expect(client.handleChallenge(challengeResponse(401, []), INVITE)).toEqual({ retry: false, reason: 'no-challenge' });
    const realmBound = new DigestClient({ username: 'alice', password: 'pw', realm: 'mine' });
    expect(realmBound.handleChallenge(challengeResponse(401, ['Digest realm="theirs", nonce="n"']), INVITE)).toEqual({ retry: false, reason: 'unsupported' });
  });

  it('with only an MD5 HA1 picks the MD5 challenge among SHA-256 and MD5', () => {
    const client = new DigestClient({ username: 'alice', ha1: computeHa1('MD5', 'alice', 'r', 'pw') });
    const v = client.handleChallenge(challengeResponse(401, ['Digest realm="r", nonce="n", algorithm=SHA-256', 'Digest realm="r", nonce="n", algorithm=MD5']), INVITE);
    expect(v.retry && v.headers[0][1]).toContain('algorithm=MD5');
  });

  it('authorize() is empty before any challenge', () => {
    expect(new DigestClient({ username: 'a', password: 'b' }).authorize(INVITE)).toEqual([]);
    expect(() => new DigestClient({ username: 'a' })).toThrow(TypeError);
  });
});
