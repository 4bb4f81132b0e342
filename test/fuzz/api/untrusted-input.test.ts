import fc from 'fast-check';
import { JwtVerifier } from '../../../src/api';
import { IngressGuard } from '../../../src/sip/ua/ingress-guard';
import { VirtualClock } from '../../../src/util';
import { verifyWebhookSignature } from '../../../src/util/hmac';

// Network input never throws out of a layer: bearer tokens, source addresses and webhook signatures
// come from strangers. Time-boxed: modest run counts.

describe('untrusted input properties', () => {
  const verifier = new JwtVerifier({ secret: 'fuzz-secret-fuzz-secret-fuzz-secret-01', now: () => 1_700_000_000 });
  const segment = fc.stringMatching(/^[A-Za-z0-9_-]{0,80}$/);

  it('JwtVerifier never throws and never accepts a token it did not sign', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.tuple(segment, segment, segment).map((p) => p.join('.'))), (token) => {
        const r = verifier.verify(token);
        expect(r.ok).toBe(false);
        const h = verifier.verifyAuthorization(`Bearer ${token}`);
        expect(h.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('IngressGuard.check never throws and always gives a verdict', () => {
    const guard = new IngressGuard({
      clock: new VirtualClock(),
      allowedCidrs: [{ address: '10.0.0.0', prefix: 8, family: 4 }],
      floodMaxRequests: 5,
      maxTrackedSources: 50,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.ipV4(), fc.ipV6(), fc.ipV4().map((a) => `::ffff:${a}`)), fc.boolean(), (address, isRequest) => {
        expect(['accept', 'deny', 'drop']).toContain(guard.check(address, isRequest));
      }),
      { numRuns: 1000 },
    );
    expect(guard.trackedSources).toBeLessThanOrEqual(50);
  });

  it('verifyWebhookSignature never throws on arbitrary header values', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.option(fc.string({ maxLength: 100 })), (body, sig) => {
        expect(verifyWebhookSignature(body, 'key', sig)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
