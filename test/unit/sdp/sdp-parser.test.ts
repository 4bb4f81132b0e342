import { parseSdp, SdpParseErrorCode, serializeSdp, SessionDescription } from '../../../src/sdp';

const LINPHONE = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.10',
  's=Talk',
  'i=A call',
  'e=alice@example.com',
  'c=IN IP4 192.0.2.10',
  'b=AS:80',
  't=0 0',
  'a=tool:softphone 1.0',
  'a=sendrecv',
  'm=audio 49170 RTP/AVP 8 0 101 13',
  'b=TIAS:64000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=rtpmap:13 CN/8000',
  'a=ptime:20',
  'a=maxptime:40',
  'a=rtcp:49171 IN IP4 192.0.2.11',
  'a=rtcp-mux',
  'a=ssrc:12345 cname:foo',
  'a=recvonly',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=42e01f',
  '',
].join('\r\n');

describe('parseSdp', () => {
  it('parses session and media fields', () => {
    const res = parseSdp(LINPHONE);
    if (!res.ok) throw new Error(res.error.message);
    const sdp = res.sdp;
    expect(sdp.origin).toEqual({ username: 'alice', sessionId: '2890844526', sessionVersion: '2890844526', netType: 'IN', addrType: 'IP4', address: '192.0.2.10' });
    expect(sdp.sessionName).toBe('Talk');
    expect(sdp.info).toBe('A call');
    expect(sdp.emails).toEqual(['alice@example.com']);
    expect(sdp.connection).toEqual({ netType: 'IN', addrType: 'IP4', address: '192.0.2.10' });
    expect(sdp.bandwidths).toEqual([{ type: 'AS', value: 80 }]);
    expect(sdp.direction).toBe('sendrecv');
    expect(sdp.extra).toEqual([{ type: 'a', value: 'tool:softphone 1.0' }]);
    expect(sdp.media).toHaveLength(2);
    const audio = sdp.media[0];
    expect(audio).toMatchObject({ media: 'audio', port: 49170, proto: 'RTP/AVP', formats: ['8', '0', '101', '13'], ptime: 20, maxptime: 40, rtcpMux: true, direction: 'recvonly' });
    expect(audio.rtpmaps).toContainEqual({ payloadType: 101, encoding: 'telephone-event', clockRate: 8000 });
    expect(audio.fmtps).toEqual([{ payloadType: 101, params: '0-15' }]);
    expect(audio.rtcp).toEqual({ port: 49171, connection: { netType: 'IN', addrType: 'IP4', address: '192.0.2.11' } });
    expect(audio.bandwidths).toEqual([{ type: 'TIAS', value: 64000 }]);
    expect(audio.extra).toEqual([{ type: 'a', value: 'ssrc:12345 cname:foo' }]);
    expect(sdp.media[1]).toMatchObject({ media: 'video', port: 0, formats: ['96'] });
  });

  it('round-trips: parse -> serialize -> parse is deep-equal, and serialization is stable', () => {
    const first = parseSdp(LINPHONE);
    if (!first.ok) throw new Error('parse failed');
    const text = serializeSdp(first.sdp);
    const second = parseSdp(text);
    if (!second.ok) throw new Error('reparse failed');
    expect(second.sdp).toEqual(first.sdp);
    expect(serializeSdp(second.sdp)).toBe(text);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n').filter((l) => l !== '')).toHaveLength(LINPHONE.split('\r\n').filter((l) => l !== '').length);
  });

  it('keeps unknown attributes and lines in order', () => {
    const res = parseSdp('v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 198.51.100.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=x-one:1\nx=weird\na=x-two\n');
    if (!res.ok) throw new Error(res.error.message);
    expect(res.sdp.media[0].extra).toEqual([
      { type: 'a', value: 'x-one:1' },
      { type: 'x', value: 'weird' },
      { type: 'a', value: 'x-two' },
    ]);
    expect(serializeSdp(res.sdp)).toContain('a=x-one:1\r\nx=weird\r\na=x-two\r\n');
  });

  it('accepts bare LF, missing s=/t=, multicast and IPv6 connections, r= lines', () => {
    const res = parseSdp('v=0\no=- 1 2 IN IP6 ::1\nc=IN IP4 233.252.0.1/127/3\nt=3034423619 3042462419\nr=7d 1h 0 25h\nm=audio 4000/2 RTP/AVP 0\nc=IN IP6 ff02::1/3\n');
    if (!res.ok) throw new Error(res.error.message);
    expect(res.sdp.sessionName).toBe('-');
    expect(res.sdp.connection).toEqual({ netType: 'IN', addrType: 'IP4', address: '233.252.0.1', ttl: 127, count: 3 });
    expect(res.sdp.media[0].connection).toEqual({ netType: 'IN', addrType: 'IP6', address: 'ff02::1', count: 3 });
    expect(res.sdp.media[0].portCount).toBe(2);
    expect(res.sdp.timings).toEqual([{ start: '3034423619', stop: '3042462419', repeats: ['7d 1h 0 25h'] }]);
    const again = parseSdp(serializeSdp(res.sdp));
    expect(again.ok && again.sdp).toEqual(res.sdp);
  });

  it('accepts a Buffer and a missing t= line', () => {
    const res = parseSdp(Buffer.from('v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n'));
    expect(res.ok && res.sdp.timings).toEqual([{ start: '0', stop: '0', repeats: [] }]);
  });

  const HEAD = 'v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n';
  const cases: Record<string, [string, SdpParseErrorCode, number]> = {
    empty: ['', 'SDP_EMPTY', 0],
    whitespace: ['\r\n  \r\n', 'SDP_EMPTY', 0],
    'no v= first': ['o=- 1 1 IN IP4 h\r\n', 'SDP_BAD_VERSION', 1],
    'v=1': ['v=1\r\n', 'SDP_BAD_VERSION', 1],
    'repeated v=': [HEAD + 'v=0\r\n', 'SDP_BAD_VERSION', 6],
    'line without =': [HEAD + 'garbage\r\n', 'SDP_BAD_LINE', 6],
    'space before =': [HEAD + 'a =x\r\n', 'SDP_BAD_LINE', 6],
    'missing o=': ['v=0\r\ns=-\r\n', 'SDP_MISSING_ORIGIN', 0],
    'm= before o=': ['v=0\r\nm=audio 1 RTP/AVP 0\r\n', 'SDP_MISSING_ORIGIN', 2],
    'short o=': ['v=0\r\no=- 1 IN IP4 h\r\n', 'SDP_BAD_ORIGIN', 2],
    'non-numeric session id': ['v=0\r\no=- abc 1 IN IP4 h\r\n', 'SDP_BAD_ORIGIN', 2],
    'bad c=': [HEAD + 'c=IN IP4\r\n', 'SDP_BAD_CONNECTION', 6],
    'bad c= ttl': [HEAD + 'c=IN IP4 1.2.3.4/x\r\n', 'SDP_BAD_CONNECTION', 6],
    'no c= for an active stream': ['v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n', 'SDP_MISSING_CONNECTION', 0],
    'bad b=': [HEAD + 'b=AS\r\n', 'SDP_BAD_BANDWIDTH', 6],
    'bad t=': ['v=0\r\no=- 1 1 IN IP4 h\r\nt=0\r\n', 'SDP_BAD_TIMING', 3],
    'r= without t=': ['v=0\r\no=- 1 1 IN IP4 h\r\nr=1 2 3\r\n', 'SDP_BAD_TIMING', 3],
    'm= too short': [HEAD + 'm=audio 4000 RTP/AVP\r\n', 'SDP_BAD_MEDIA', 6],
    'm= port too big': [HEAD + 'm=audio 70000 RTP/AVP 0\r\n', 'SDP_BAD_MEDIA', 6],
    'm= port not a number': [HEAD + 'm=audio x RTP/AVP 0\r\n', 'SDP_BAD_MEDIA', 6],
    'bad rtpmap': [HEAD + 'm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n', 'SDP_BAD_ATTRIBUTE', 7],
    'rtpmap pt 200': [HEAD + 'm=audio 4000 RTP/AVP 0\r\na=rtpmap:200 PCMU/8000\r\n', 'SDP_BAD_ATTRIBUTE', 7],
    'bad ptime': [HEAD + 'm=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n', 'SDP_BAD_ATTRIBUTE', 7],
    'bad rtcp': [HEAD + 'm=audio 4000 RTP/AVP 0\r\na=rtcp:99999\r\n', 'SDP_BAD_ATTRIBUTE', 7],
    'bad fmtp pt': [HEAD + 'm=audio 4000 RTP/AVP 0\r\na=fmtp:x 0-15\r\n', 'SDP_BAD_ATTRIBUTE', 7],
    'too many m= lines': [HEAD + 'm=audio 0 RTP/AVP 0\r\n'.repeat(65), 'SDP_TOO_MANY_MEDIA', 70],
    'too large': ['v=0\r\n' + 'a=x\r\n'.repeat(20000), 'SDP_TOO_LARGE', 0],
  };
  it.each(Object.entries(cases))('rejects %s', (_name, [text, code, line]) => {
    const res = parseSdp(text);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.code).toBe(code);
      expect(res.error.line).toBe(line);
      expect(typeof res.error.message).toBe('string');
    }
  });

  it('serializes a hand-built description in grammar order', () => {
    const sdp: SessionDescription = {
      version: 0,
      origin: { username: '-', sessionId: '1', sessionVersion: '2', netType: 'IN', addrType: 'IP4', address: '10.0.0.1' },
      sessionName: 'x',
      emails: [],
      phones: ['+1 555 0100'],
      connection: { netType: 'IN', addrType: 'IP4', address: '10.0.0.1' },
      bandwidths: [],
      timings: [],
      extra: [],
      media: [{ media: 'audio', port: 10000, proto: 'RTP/AVP', formats: ['0'], bandwidths: [], rtpmaps: [{ payloadType: 0, encoding: 'PCMU', clockRate: 8000 }], fmtps: [], rtcpMux: false, direction: 'sendonly', extra: [] }],
    };
    expect(serializeSdp(sdp)).toBe(
      'v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=x\r\np=+1 555 0100\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n',
    );
  });
});
