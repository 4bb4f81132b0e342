import {
  formatRAck,
  initialRSeq,
  isReliableProvisional,
  parseRAck,
  parseRSeq,
  requires100rel,
  RSeqCounter,
  supports100rel,
} from '../../../../src/sip/dialog';
import { aliceInvite, request, responseToAlice } from './sip-text';

describe('RAck / RSeq (RFC 3262 §7)', () => {
  it.each([
    ['776656 1 INVITE', { rseq: 776656, cseq: 1, method: 'INVITE' }],
    ['  1   314159\tINVITE ', { rseq: 1, cseq: 314159, method: 'INVITE' }],
    ['4294967295 2 UPDATE', { rseq: 4294967295, cseq: 2, method: 'UPDATE' }],
  ])('parses %p', (text, expected) => {
    expect(parseRAck(text)).toEqual(expected);
    expect(parseRAck(formatRAck(expected))).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['two fields', '1 INVITE'],
    ['four fields', '1 2 INVITE x'],
    ['zero RSeq', '0 1 INVITE'],
    ['negative', '-1 1 INVITE'],
    ['not a number', 'a 1 INVITE'],
    ['RSeq above 2^32-1', '4294967296 1 INVITE'],
    ['bad method', '1 1 IN(VITE'],
    ['absent', undefined],
  ])('rejects %s', (_name, text) => {
    expect(parseRAck(text)).toBeUndefined();
  });

  it.each([
    ['1', 1],
    [' 42 ', 42],
    ['4294967295', 4294967295],
    ['0', undefined],
    ['4294967296', undefined],
    ['12a', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('parseRSeq(%p) = %p', (text, expected) => {
    expect(parseRSeq(text)).toBe(expected);
  });

  it('initial RSeq is in [1, 2^31 - 1] and the counter adds one per response', () => {
    expect(initialRSeq(() => 0)).toBe(1);
    expect(initialRSeq(() => 0.999999999999)).toBe(2 ** 31 - 1);
    expect(initialRSeq(() => 1)).toBe(2 ** 31 - 1);
    const c = new RSeqCounter(() => 0.5);
    expect(c.last).toBeUndefined();
    const first = c.next();
    expect(first).toBe(1 + Math.floor(0.5 * (2 ** 31 - 1)));
    expect(c.next()).toBe(first + 1);
    expect(c.last).toBe(first + 1);
  });
});

describe('100rel option tag', () => {
  it.each([
    ['Supported: 100rel, timer', false, true],
    ['Require: 100rel', true, true],
    ['Supported: timer', false, false],
    ['k: replaces,100REL', false, true],
  ])('%s -> requires %p, supports %p', (header, requires, supports) => {
    const req = request([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK-1',
      'Max-Forwards: 70',
      'From: <sip:alice@atlanta.example.com>;tag=1',
      'To: <sip:bob@biloxi.example.com>',
      'Call-ID: opt',
      'CSeq: 1 INVITE',
      header,
    ]);
    expect(requires100rel(req)).toBe(requires);
    expect(supports100rel(req)).toBe(supports);
  });

  it('isReliableProvisional needs 101-199, Require: 100rel and a valid RSeq', () => {
    expect(isReliableProvisional(responseToAlice(183, { extra: ['Require: 100rel', 'RSeq: 9'] }))).toBe(true);
    expect(isReliableProvisional(responseToAlice(183, { extra: ['RSeq: 9'] }))).toBe(false);
    expect(isReliableProvisional(responseToAlice(183, { extra: ['Require: 100rel'] }))).toBe(false);
    expect(isReliableProvisional(responseToAlice(200, { extra: ['Require: 100rel', 'RSeq: 9'] }))).toBe(false);
    expect(supports100rel(aliceInvite())).toBe(true);
  });
});
