import { parseSdp, SdpSession, serializeSdp } from '../../../src/sdp';

describe('SdpSession', () => {
  const local = { address: '198.51.100.7', port: 20000 };

  it('keeps the session id and bumps the version only when the content changes', () => {
    const s = new SdpSession({ address: '198.51.100.7', sessionId: '12345' });
    const first = s.createOffer(local);
    expect(first.origin).toMatchObject({ sessionId: '12345', sessionVersion: '0', address: '198.51.100.7' });
    const same = s.createOffer(local);
    expect(same.origin.sessionVersion).toBe('0');
    const hold = s.createOffer({ ...local, direction: 'sendonly' });
    expect(hold.origin).toMatchObject({ sessionId: '12345', sessionVersion: '1' });
    const resume = s.createOffer(local);
    expect(resume.origin.sessionVersion).toBe('2');
    expect(s.last).toBe(resume);
  });

  it('stamps answers with its origin and generates numeric random session ids', () => {
    const s = new SdpSession({ address: '2001:db8::7' });
    expect(s.sessionId).toMatch(/^[0-9]+$/);
    expect(new SdpSession({ address: 'x' }).sessionId).not.toBe(s.sessionId);
    const offer = parseSdp('v=0\r\no=- 1 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n');
    if (!offer.ok) throw new Error('parse');
    const res = s.createAnswer(offer.sdp, { address: '2001:db8::7', port: 20000 });
    if (!res.ok) throw new Error(res.reason);
    expect(res.answer.origin).toMatchObject({ sessionId: s.sessionId, sessionVersion: '0', addrType: 'IP6' });
    expect(serializeSdp(res.answer)).toContain(`o=- ${s.sessionId} 0 IN IP6 2001:db8::7\r\n`);
  });

  it('passes failures through unchanged', () => {
    const s = new SdpSession({ address: '198.51.100.7' });
    const offer = parseSdp('v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n');
    if (!offer.ok) throw new Error('parse');
    expect(s.createAnswer(offer.sdp, local)).toMatchObject({ ok: false, reason: 'no-common-codec' });
  });

  it('rejects a non-numeric session id', () => {
    expect(() => new SdpSession({ address: 'h', sessionId: 'abc' })).toThrow(TypeError);
  });
});
