import { parseNameAddr } from '../../../../src/sip/message';
import { formatReferTo, formatSipfrag, inviteOutcomeOf, parseEvent, parseSipfrag, parseSubscriptionState, replacesOf } from '../../../../src/sip/ua';

describe('REFER helpers (RFC 3515, RFC 3891, RFC 6665)', () => {
  it('reads sipfrag status lines and ignores anything else', () => {
    expect(parseSipfrag(Buffer.from('SIP/2.0 180 Ringing\r\n'))).toEqual({ status: 180, reason: 'Ringing' });
    expect(parseSipfrag(Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n'))).toEqual({ status: 200, reason: 'OK' });
    expect(parseSipfrag(Buffer.from('SIP/2.0 503'))).toEqual({ status: 503, reason: '' });
    expect(parseSipfrag(Buffer.from('INVITE sip:a@b SIP/2.0\r\n'))).toBeUndefined();
    expect(parseSipfrag(Buffer.alloc(0))).toBeUndefined();
    expect(parseSipfrag(formatSipfrag(486, 'Busy Here'))).toEqual({ status: 486, reason: 'Busy Here' });
  });

  it('reads Subscription-State and Event', () => {
    expect(parseSubscriptionState('terminated;reason=noresource')).toEqual({ state: 'terminated', reason: 'noresource' });
    expect(parseSubscriptionState('Active ; expires=60')).toEqual({ state: 'active', expires: 60 });
    expect(parseSubscriptionState(undefined)).toBeUndefined();
    expect(parseEvent('refer;id=93809824')).toEqual({ pkg: 'refer', id: '93809824' });
    expect(parseEvent('Refer')).toEqual({ pkg: 'refer' });
  });

  it('writes Refer-To with an escaped Replaces header and reads it back', () => {
    const value = formatReferTo('sip:bob@example.com', { callId: 'abc@host', toTag: 't1', fromTag: 'f1' });
    expect(value).toMatch(/^<sip:bob@example\.com\?Replaces=abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>$/);
    const na = parseNameAddr(value)!;
    expect(replacesOf(na)).toEqual({ callId: 'abc@host', toTag: 't1', fromTag: 'f1' });
    expect(formatReferTo('sip:carol@example.com')).toBe('<sip:carol@example.com>');
    expect(() => formatReferTo('not a uri')).toThrow(TypeError);
  });
});

describe('inviteOutcomeOf', () => {
  it.each([
    [486, undefined, 'busy'],
    [600, undefined, 'busy'],
    [408, undefined, 'no-answer'],
    [480, undefined, 'no-answer'],
    [487, 'no-answer', 'no-answer'],
    [487, 'canceled', 'canceled'],
    [503, undefined, 'failed'],
    [404, undefined, 'rejected'],
    [603, undefined, 'rejected'],
    [302, undefined, 'rejected'],
  ] as const)('%i (cancelled by %s) -> %s', (status, by, outcome) => {
    expect(inviteOutcomeOf(status, by)).toBe(outcome);
  });
});
