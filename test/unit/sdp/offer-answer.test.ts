import { createAnswer, createOffer, intersectEvents, LocalMediaOptions, negotiatedMedia, parseSdp, serializeSdp, SessionDescription } from '../../../src/sdp';

function sdp(lines: string[]): SessionDescription {
  const res = parseSdp(lines.join('\r\n') + '\r\n');
  if (!res.ok) throw new Error(`${res.error.code}: ${res.error.message}`);
  return res.sdp;
}

const HEAD = ['v=0', 'o=- 100 1 IN IP4 203.0.113.5', 's=-', 'c=IN IP4 203.0.113.5', 't=0 0'];
const local: LocalMediaOptions = { address: '198.51.100.7', port: 20000 };

function answerOf(offer: SessionDescription, opts: Partial<LocalMediaOptions> = {}): SessionDescription {
  const res = createAnswer(offer, { ...local, ...opts });
  if (!res.ok) throw new Error(res.reason);
  // What goes on the wire must parse back.
  const reparsed = parseSdp(serializeSdp(res.answer));
  expect(reparsed.ok).toBe(true);
  return res.answer;
}

describe('createAnswer (RFC 3264 §6)', () => {
  it('answers PCMA/PCMU in the offerer order with telephone-event at the offered PT', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 8 18 0 96', 'a=rtpmap:18 G729/8000', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-16']);
    const res = createAnswer(offer, local);
    if (!res.ok) throw new Error(res.reason);
    const m = res.answer.media[0];
    expect(m.port).toBe(20000);
    expect(m.formats).toEqual(['8', '0', '96']);
    expect(m.rtpmaps).toEqual([
      { payloadType: 8, encoding: 'PCMA', clockRate: 8000 },
      { payloadType: 0, encoding: 'PCMU', clockRate: 8000 },
      { payloadType: 96, encoding: 'telephone-event', clockRate: 8000 },
    ]);
    expect(m.fmtps).toEqual([{ payloadType: 96, params: '0-16' }]);
    expect(m.ptime).toBe(20);
    expect(m.direction).toBe('sendrecv');
    expect(res.answer.connection?.address).toBe('198.51.100.7');
    expect(res.media).toMatchObject({
      remoteAddress: '203.0.113.5',
      remotePort: 40000,
      remoteRtcpAddress: '203.0.113.5',
      remoteRtcpPort: 40001,
      payloadType: 8,
      codec: 'PCMA',
      telephoneEventPt: 96,
      direction: 'sendrecv',
      rtcpMux: false,
      remoteHold: false,
    });
  });

  it('restricts to our codecs but keeps the offerer order', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0 8']);
    expect(answerOf(offer, { codecs: ['PCMA'] }).media[0].formats).toEqual(['8']);
    expect(answerOf(offer, { codecs: ['PCMA', 'PCMU'] }).media[0].formats).toEqual(['0', '8']);
  });

  it('recognises G.711 by rtpmap name at dynamic payload types', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 97 98', 'a=rtpmap:97 pcmu/8000', 'a=rtpmap:98 PCMA/16000']);
    const res = createAnswer(offer, local);
    expect(res.ok && res.answer.media[0].formats).toEqual(['97']);
    expect(res.ok && res.media.payloadType).toBe(97);
  });

  it('answers the RFC 4733 default event list when the offer has no fmtp, and omits telephone-event if disabled', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000']);
    expect(answerOf(offer).media[0].fmtps).toEqual([{ payloadType: 101, params: '0-15' }]);
    const without = answerOf(offer, { telephoneEvent: false }).media[0];
    expect(without.formats).toEqual(['0']);
    expect(without.fmtps).toEqual([]);
  });

  it('ignores telephone-event at another clock rate', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0 110', 'a=rtpmap:110 telephone-event/48000']);
    expect(answerOf(offer).media[0].formats).toEqual(['0']);
  });

  it.each([
    ['sendonly', 'recvonly', true],
    ['recvonly', 'sendonly', false],
    ['inactive', 'inactive', true],
    ['sendrecv', 'sendrecv', false],
  ])('mirrors a=%s with a=%s', (offered, answered, remoteHold) => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0', `a=${offered}`]);
    const res = createAnswer(offer, local);
    expect(res.ok && res.answer.media[0].direction).toBe(answered);
    expect(res.ok && res.media.direction).toBe(answered);
    expect(res.ok && res.media.remoteHold).toBe(remoteHold);
  });

  it('uses the session-level direction when the media has none', () => {
    const offer = sdp([...HEAD, 'a=sendonly', 'm=audio 40000 RTP/AVP 0']);
    expect(answerOf(offer).media[0].direction).toBe('recvonly');
  });

  it('recognises c=0.0.0.0 as old-style hold (RFC 3264 §8.4)', () => {
    const offer = sdp(['v=0', 'o=- 100 2 IN IP4 203.0.113.5', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 40000 RTP/AVP 0']);
    const res = createAnswer(offer, local);
    expect(res.ok && res.answer.media[0].direction).toBe('recvonly');
    expect(res.ok && res.media.remoteHold).toBe(true);
  });

  it('combines the mirrored direction with our own hold', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0']);
    expect(answerOf(offer, { direction: 'sendonly' }).media[0].direction).toBe('sendonly');
    const held = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0', 'a=sendonly']);
    expect(answerOf(held, { direction: 'sendonly' }).media[0].direction).toBe('inactive');
  });

  it('rejects non-audio and extra audio streams with port 0, keeping the m-line count', () => {
    const offer = sdp([
      ...HEAD,
      'm=video 40002 RTP/AVP 96',
      'a=rtpmap:96 VP8/90000',
      'm=audio 40000 RTP/AVP 0',
      'm=audio 40004 RTP/AVP 8',
      'm=application 40006 UDP/BFCP *',
    ]);
    const res = createAnswer(offer, local);
    if (!res.ok) throw new Error(res.reason);
    expect(res.answer.media.map((m) => [m.media, m.port, m.formats.join(' ')])).toEqual([
      ['video', 0, '96'],
      ['audio', 20000, '0'],
      ['audio', 0, '8'],
      ['application', 0, '*'],
    ]);
    expect(res.media.mediaIndex).toBe(1);
  });

  it('skips an audio stream without a common codec and accepts the next', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 18', 'm=audio 40002 RTP/AVP 0']);
    const res = createAnswer(offer, local);
    expect(res.ok && res.answer.media.map((m) => m.port)).toEqual([0, 20000]);
  });

  it('accepts rtcp-mux only when both sides want it, and honours a=rtcp', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0', 'a=rtcp-mux', 'a=rtcp:40009 IN IP4 203.0.113.9']);
    const plain = createAnswer(offer, local);
    expect(plain.ok && plain.answer.media[0].rtcpMux).toBe(false);
    expect(plain.ok && [plain.media.remoteRtcpAddress, plain.media.remoteRtcpPort]).toEqual(['203.0.113.9', 40009]);
    const mux = createAnswer(offer, { ...local, rtcpMux: true });
    expect(mux.ok && mux.answer.media[0].rtcpMux).toBe(true);
    expect(mux.ok && [mux.media.remoteRtcpAddress, mux.media.remoteRtcpPort]).toEqual(['203.0.113.5', 40000]);
  });

  it('reports no common codec with a 305 warning', () => {
    const offer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 18 9', 'a=rtpmap:18 G729/8000']);
    expect(createAnswer(offer, { ...local, warnAgent: 'sip.example.com' })).toEqual({
      ok: false,
      reason: 'no-common-codec',
      warning: '305 sip.example.com "Incompatible media format"',
    });
  });

  it('reports no audio with a 304 warning, SRTP-only audio with a 302 warning', () => {
    const video = createAnswer(sdp([...HEAD, 'm=video 40000 RTP/AVP 96']), local);
    expect(video).toEqual({ ok: false, reason: 'no-audio-stream', warning: '304 198.51.100.7 "Media type not available"' });
    const srtp = createAnswer(sdp([...HEAD, 'm=audio 40000 RTP/SAVP 0']), local);
    expect(srtp.ok === false && srtp.reason).toBe('incompatible-transport');
    expect(srtp.ok === false && srtp.warning).toMatch(/^302 /);
  });

  it('does not accept a stream the offerer disabled (port 0)', () => {
    const res = createAnswer(sdp([...HEAD, 'm=audio 0 RTP/AVP 0']), local);
    expect(res.ok === false && res.reason).toBe('no-audio-stream');
  });
});

describe('createOffer', () => {
  it('offers our codecs in our order with telephone-event 0-16 and ptime', () => {
    const offer = createOffer({ ...local, codecs: ['PCMA', 'PCMU'] });
    const text = serializeSdp(offer);
    expect(text).toContain('m=audio 20000 RTP/AVP 8 0 101\r\n');
    expect(text).toContain('a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n');
    expect(text).toContain('a=ptime:20\r\n');
    expect(text).toContain('a=sendrecv\r\n');
    expect(text).toContain('c=IN IP4 198.51.100.7\r\n');
  });

  it('builds a hold re-offer and an IPv6 offer', () => {
    expect(createOffer({ ...local, direction: 'sendonly' }).media[0].direction).toBe('sendonly');
    expect(createOffer({ address: '2001:db8::1', port: 30000 }).connection).toEqual({ netType: 'IN', addrType: 'IP6', address: '2001:db8::1' });
  });
});

describe('negotiatedMedia', () => {
  const offer = createOffer({ ...local, rtcpMux: true });

  it('gives the offerer the answerer address, codec, DTMF PT and mirrored direction', () => {
    const answer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 8 101', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:30', 'a=recvonly', 'a=rtcp-mux']);
    const res = negotiatedMedia(offer, answer, 'offerer');
    expect(res).toEqual({
      ok: true,
      media: {
        mediaIndex: 0,
        remoteAddress: '203.0.113.5',
        remotePort: 40000,
        remoteRtcpAddress: '203.0.113.5',
        remoteRtcpPort: 40000,
        payloadType: 8,
        codec: 'PCMA',
        codecs: [{ payloadType: 8, codec: 'PCMA' }],
        telephoneEventPt: 101,
        ptime: 30,
        direction: 'sendonly',
        rtcpMux: true,
        remoteHold: false,
      },
    });
  });

  it('agrees with createAnswer for the answerer', () => {
    const theirOffer = sdp([...HEAD, 'm=audio 40000 RTP/AVP 0 8 101', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly']);
    const res = createAnswer(theirOffer, local);
    if (!res.ok) throw new Error(res.reason);
    const n = negotiatedMedia(theirOffer, res.answer, 'answerer');
    expect(n).toEqual({ ok: true, media: res.media });
  });

  it('fails when the answer rejected every stream', () => {
    const answer = sdp([...HEAD, 'm=audio 0 RTP/AVP 0']);
    expect(negotiatedMedia(offer, answer, 'offerer')).toEqual({ ok: false, reason: 'no-audio-stream' });
    const odd = sdp([...HEAD, 'm=audio 40000 RTP/AVP 18']);
    expect(negotiatedMedia(offer, odd, 'offerer')).toEqual({ ok: false, reason: 'no-common-codec' });
  });
});

describe('intersectEvents', () => {
  it.each([
    [undefined, '0-15'],
    ['0-15', '0-15'],
    ['0-16', '0-16'],
    ['0-15,66,70', '0-15'],
    ['0-11,13,16', '0-11,13,16'],
    ['200-300', '0-15'],
    ['junk', '0-15'],
  ])('%s -> %s', (offered, answered) => {
    expect(intersectEvents(offered)).toBe(answered);
  });
});
