import { formatDtmfRelay, parseInfoDtmf, parseReplacesHeader } from '../../../src/call';

describe('parseInfoDtmf', () => {
  it.each([
    ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n', { digit: '5', durationMs: 160 }],
    ['application/dtmf-relay', 'Signal= #\nDuration=250', { digit: '#', durationMs: 250 }],
    ['application/dtmf-relay', 'Signal=10\r\n', { digit: '*', durationMs: undefined }],
    ['application/dtmf-relay', 'Signal=11\r\nDuration=100', { digit: '#', durationMs: 100 }],
    ['Application/DTMF-Relay; charset=x', 'signal=a', { digit: 'A', durationMs: undefined }],
    ['application/dtmf', '7', { digit: '7', durationMs: undefined }],
    ['application/dtmf', '15\r\n', { digit: 'D', durationMs: undefined }],
  ])('%s %j', (type, body, expected) => {
    expect(parseInfoDtmf(type, Buffer.from(body))).toEqual(expected);
  });

  it.each([
    [undefined, 'Signal=5'],
    ['application/sdp', 'Signal=5'],
    ['application/dtmf-relay', ''],
    ['application/dtmf-relay', 'Duration=100'],
    ['application/dtmf-relay', 'Signal=16'],
    ['application/dtmf-relay', 'Signal=X'],
    ['application/dtmf', '55x'],
    ['application/dtmf-relay', `Signal=5\r\n${'x'.repeat(2000)}`],
  ])('ignores %s %j', (type, body) => {
    expect(parseInfoDtmf(type, Buffer.from(body))).toBeUndefined();
  });

  it('formats what it parses', () => {
    expect(parseInfoDtmf('application/dtmf-relay', Buffer.from(formatDtmfRelay('9', 120)))).toEqual({ digit: '9', durationMs: 120 });
  });
});

describe('parseReplacesHeader (RFC 3891 §6.1)', () => {
  it('reads the Call-ID and both tags', () => {
    expect(parseReplacesHeader('98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff')).toEqual({ callId: '98732@sip.example.com', toTag: 'ff87ff', fromTag: 'r33th4x0r', earlyOnly: false });
    expect(parseReplacesHeader('a;to-tag=1;from-tag=2;early-only')?.earlyOnly).toBe(true);
  });
  it.each([undefined, '', 'abc', 'abc;to-tag=1', 'abc;from-tag=2', ';to-tag=1;from-tag=2', 'a;to-tag=;from-tag=2'])('refuses %j', (v) => {
    expect(parseReplacesHeader(v)).toBeUndefined();
  });
});
