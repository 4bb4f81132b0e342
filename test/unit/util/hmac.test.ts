import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhookSignature, WEBHOOK_SIGNATURE_PREFIX } from '../../../src/util/hmac';

const KEY = 'whsec_0123456789abcdef';
const BODY = '{"event":"call.completed","call_id":"abc123"}';

describe('signWebhook', () => {
  it('is sha256= followed by the hex HMAC-SHA256 of the body (RFC 4231 test case 2)', () => {
    // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    expect(signWebhook('what do ya want for nothing?', 'Jefe')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('signs strings and buffers of the same bytes alike', () => {
    expect(signWebhook(Buffer.from(BODY), Buffer.from(KEY))).toBe(signWebhook(BODY, KEY));
    expect(signWebhook(BODY, KEY)).toBe(WEBHOOK_SIGNATURE_PREFIX + createHmac('sha256', KEY).update(BODY).digest('hex'));
  });

  it('refuses an empty key', () => {
    expect(() => signWebhook(BODY, '')).toThrow(TypeError);
  });
});

describe('verifyWebhookSignature', () => {
  const sig = signWebhook(BODY, KEY);

  it('accepts the signature of the exact body', () => {
    expect(verifyWebhookSignature(BODY, KEY, sig)).toBe(true);
    expect(verifyWebhookSignature(BODY, KEY, sig.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
  });

  it.each([
    ['a changed body', BODY.replace('abc', 'abd'), KEY, sig],
    ['another key', BODY, 'other-key', sig],
    ['a missing header', BODY, KEY, undefined],
    ['a null header', BODY, KEY, null],
    ['no prefix', BODY, KEY, sig.slice(WEBHOOK_SIGNATURE_PREFIX.length)],
    ['another algorithm', BODY, KEY, sig.replace('sha256=', 'sha1=')],
    ['a truncated digest', BODY, KEY, sig.slice(0, -2)],
    ['non-hex characters', BODY, KEY, sig.slice(0, -1) + 'z'],
    ['an empty key', BODY, '', sig],
  ])('rejects %s', (_name, body, key, signature) => {
    expect(verifyWebhookSignature(body, key, signature)).toBe(false);
  });
});
