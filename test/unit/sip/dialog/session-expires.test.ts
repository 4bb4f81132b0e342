import {
  formatSessionExpires,
  negotiateSessionTimerUac,
  negotiateSessionTimerUas,
  parseMinSE,
  parseSessionExpires,
  sessionIntervalAfter422,
  sessionTimerRequestHeaders,
  type SessionExpires,
  type SessionTimerPolicy,
  type UasSessionTimerDecision,
} from '../../../../src/sip/dialog';
import { request, responseToAlice } from './sip-text';

describe('Session-Expires / Min-SE parsing (RFC 4028 §4, §5)', () => {
  it.each<[string, SessionExpires]>([
    ['1800', { interval: 1800 }],
    ['1800;refresher=uac', { interval: 1800, refresher: 'uac' }],
    ['90 ; refresher = UAS', { interval: 90, refresher: 'uas' }],
    ['3600;foo=bar;refresher=uas', { interval: 3600, refresher: 'uas' }],
    ['3600;foo', { interval: 3600 }],
  ])('parses %p', (text, expected) => {
    expect(parseSessionExpires(text)).toEqual(expected);
    expect(parseSessionExpires(formatSessionExpires(expected))).toEqual(expected);
  });

  it.each([['0'], ['-5'], ['abc'], [''], ['1800;refresher=both'], ['1800;refresher'], ['99999999999']])('rejects %p', (text) => {
    expect(parseSessionExpires(text)).toBeUndefined();
  });

  it.each([
    ['90', 90],
    ['120;x=1', 120],
    [' 300 ', 300],
    ['x', undefined],
    [undefined, undefined],
  ])('parseMinSE(%p) = %p', (text, expected) => {
    expect(parseMinSE(text)).toBe(expected);
  });
});

function invite(extra: string[]) {
  return request([
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-st',
    'Max-Forwards: 70',
    'From: <sip:alice@atlanta.example.com>;tag=1',
    'To: <sip:bob@biloxi.example.com>',
    'Call-ID: st',
    'CSeq: 1 INVITE',
    'Contact: <sip:alice@192.0.2.1>',
    ...extra,
  ]);
}

describe('negotiateSessionTimerUas (RFC 4028 §9)', () => {
  const policy: SessionTimerPolicy = { minSE: 120, interval: 1800 };
  const cases: [name: string, extra: string[], policy: SessionTimerPolicy, expected: UasSessionTimerDecision][] = [
    [
      'too small -> 422 with our Min-SE',
      ['Supported: timer', 'Session-Expires: 100'],
      policy,
      { kind: 'reject', status: 422, reason: 'Session Interval Too Small', headers: [['Min-SE', '120']] },
    ],
    [
      'UAC chose refresher=uac: kept, Require: timer',
      ['Supported: timer', 'Session-Expires: 600;refresher=uac'],
      policy,
      { kind: 'accept', timer: { interval: 600, refresher: 'uac', localRefresher: false }, headers: [['Session-Expires', '600;refresher=uac'], ['Require', 'timer']] },
    ],
    [
      'UAC chose refresher=uas: kept, we refresh',
      ['Supported: timer', 'x: 600;refresher=uas'],
      policy,
      { kind: 'accept', timer: { interval: 600, refresher: 'uas', localRefresher: true }, headers: [['Session-Expires', '600;refresher=uas']] },
    ],
    [
      'no refresher chosen: our preference (default uac)',
      ['Supported: timer', 'Session-Expires: 900'],
      policy,
      { kind: 'accept', timer: { interval: 900, refresher: 'uac', localRefresher: false }, headers: [['Session-Expires', '900;refresher=uac'], ['Require', 'timer']] },
    ],
    [
      'no refresher chosen, we prefer uas',
      ['Supported: timer', 'Session-Expires: 900'],
      { ...policy, preferredRefresher: 'uas' },
      { kind: 'accept', timer: { interval: 900, refresher: 'uas', localRefresher: true }, headers: [['Session-Expires', '900;refresher=uas']] },
    ],
    [
      'a too long interval is capped at ours',
      ['Supported: timer', 'Session-Expires: 86400;refresher=uac'],
      policy,
      { kind: 'accept', timer: { interval: 1800, refresher: 'uac', localRefresher: false }, headers: [['Session-Expires', '1800;refresher=uac'], ['Require', 'timer']] },
    ],
    [
      'the cap never goes below the request Min-SE',
      ['Supported: timer', 'Session-Expires: 7200', 'Min-SE: 3600'],
      policy,
      { kind: 'accept', timer: { interval: 3600, refresher: 'uac', localRefresher: false }, headers: [['Session-Expires', '3600;refresher=uac'], ['Require', 'timer']] },
    ],
    [
      'UAC without timer support (proxy-inserted Session-Expires): we refresh',
      ['Session-Expires: 600;refresher=uac'],
      policy,
      { kind: 'accept', timer: { interval: 600, refresher: 'uas', localRefresher: true }, headers: [['Session-Expires', '600;refresher=uas']] },
    ],
    [
      'no Session-Expires, UAC supports timer: ours is inserted',
      ['Supported: timer'],
      policy,
      { kind: 'accept', timer: { interval: 1800, refresher: 'uac', localRefresher: false }, headers: [['Session-Expires', '1800;refresher=uac'], ['Require', 'timer']] },
    ],
    [
      'no Session-Expires, no timer support: inserted with us as refresher',
      [],
      policy,
      { kind: 'accept', timer: { interval: 1800, refresher: 'uas', localRefresher: true }, headers: [['Session-Expires', '1800;refresher=uas']] },
    ],
    ['no Session-Expires and we do not insert: no timer', [], { ...policy, insertWhenAbsent: false }, { kind: 'accept', timer: undefined, headers: [] }],
    [
      'malformed Session-Expires is treated as absent',
      ['Supported: timer', 'Session-Expires: soon'],
      policy,
      { kind: 'accept', timer: { interval: 1800, refresher: 'uac', localRefresher: false }, headers: [['Session-Expires', '1800;refresher=uac'], ['Require', 'timer']] },
    ],
  ];
  it.each(cases)('%s', (_name, extra, p, expected) => {
    expect(negotiateSessionTimerUas(invite(extra), p)).toEqual(expected);
  });

  it.each([
    [{ minSE: 60, interval: 1800 }],
    [{ minSE: 120, interval: 100 }],
    [{ minSE: 90.5, interval: 1800 }],
  ])('refuses a policy breaking RFC 4028 §4: %p', (p) => {
    expect(() => negotiateSessionTimerUas(invite([]), p)).toThrow(TypeError);
  });
});

describe('negotiateSessionTimerUas with a lowered Min-SE floor (SESSION_MIN_SE for tests)', () => {
  const policy: SessionTimerPolicy = { minSE: 4, interval: 1800, minSEFloor: 4 };

  it('accepts a short interval the request asks for, with the request Min-SE taken as is', () => {
    expect(negotiateSessionTimerUas(invite(['Supported: timer', 'Session-Expires: 8;refresher=uac', 'Min-SE: 8']), policy)).toEqual({
      kind: 'accept',
      timer: { interval: 8, refresher: 'uac', localRefresher: false },
      headers: [['Session-Expires', '8;refresher=uac'], ['Require', 'timer']],
    });
  });

  it('takes the floor, not 90, as the Min-SE of a request without one', () => {
    expect(negotiateSessionTimerUas(invite(['Supported: timer', 'Session-Expires: 6']), policy)).toMatchObject({ kind: 'accept', timer: { interval: 6 } });
  });

  it('still refuses an interval under our minimum with 422 and Min-SE', () => {
    expect(negotiateSessionTimerUas(invite(['Supported: timer', 'Session-Expires: 2']), policy)).toEqual({
      kind: 'reject',
      status: 422,
      reason: 'Session Interval Too Small',
      headers: [['Min-SE', '4']],
    });
  });

  it('without the floor, the RFC 4028 §4 minimum of 90 holds for the request Min-SE', () => {
    expect(negotiateSessionTimerUas(invite(['Supported: timer', 'Session-Expires: 100', 'Min-SE: 8']), { minSE: 90, interval: 1800 })).toMatchObject({
      kind: 'accept',
      timer: { interval: 100 },
    });
    expect(negotiateSessionTimerUas(invite(['Supported: timer', 'Session-Expires: 100']), { minSE: 90, interval: 1800, minSEFloor: 4 })).toMatchObject({
      kind: 'accept',
      timer: { interval: 100 },
    });
  });

  it.each([
    [{ minSE: 3, interval: 1800, minSEFloor: 4 }],
    [{ minSE: 4, interval: 1800, minSEFloor: 0 }],
    [{ minSE: 4, interval: 1800, minSEFloor: 1.5 }],
  ])('refuses an inconsistent policy: %p', (p) => {
    expect(() => negotiateSessionTimerUas(invite([]), p)).toThrow(TypeError);
  });
});

describe('UAC session-timer helpers (RFC 4028 §7)', () => {
  it('request headers', () => {
    expect(sessionTimerRequestHeaders(1800)).toEqual([['Session-Expires', '1800']]);
    expect(sessionTimerRequestHeaders(1800, 300, 'uac')).toEqual([
      ['Session-Expires', '1800;refresher=uac'],
      ['Min-SE', '300'],
    ]);
    expect(() => sessionTimerRequestHeaders(60)).toThrow(TypeError);
  });

  it.each([
    ['refresher=uac: we refresh', ['Session-Expires: 1800;refresher=uac', 'Require: timer'], { interval: 1800, refresher: 'uac', localRefresher: true }],
    ['refresher=uas: they refresh', ['Session-Expires: 900;refresher=uas'], { interval: 900, refresher: 'uas', localRefresher: false }],
    ['no refresher: the UAC refreshes', ['Session-Expires: 900'], { interval: 900, refresher: 'uac', localRefresher: true }],
    ['no Session-Expires: no timer', [], undefined],
  ])('2xx with %s', (_name, extra, expected) => {
    expect(negotiateSessionTimerUac(responseToAlice(200, { extra }))).toEqual(expected);
  });

  it('a provisional response negotiates nothing', () => {
    expect(negotiateSessionTimerUac(responseToAlice(180, { extra: ['Session-Expires: 900'] }))).toBeUndefined();
  });

  it.each([
    ['raises to the 422 Min-SE', 422, ['Min-SE: 1800'], { interval: 600, minSE: 90 }, { interval: 1800, minSE: 1800 }],
    ['keeps a larger own Min-SE', 422, ['Min-SE: 1800'], { interval: 600, minSE: 2000 }, { interval: 2000, minSE: 2000 }],
    ['no raise -> no retry (would loop)', 422, ['Min-SE: 600'], { interval: 600, minSE: 90 }, undefined],
    ['no Min-SE -> no retry', 422, [], { interval: 600, minSE: 90 }, undefined],
    ['not a 422', 486, ['Min-SE: 1800'], { interval: 600, minSE: 90 }, undefined],
  ])('sessionIntervalAfter422: %s', (_name, status, extra, current, expected) => {
    expect(sessionIntervalAfter422(responseToAlice(status, { extra }), current)).toEqual(expected);
  });
});
