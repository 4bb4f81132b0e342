import { bestFailure, type ForkFailure } from '../../../src/call';

// RFC 3261 §16.7 step 6 as a B2BUA applies it to the forks of a registered user.

describe('bestFailure', () => {
  it.each<[string, ForkFailure[], ForkFailure]>([
    ['no forks: no answer', [], { status: 480, outcome: 'no-answer' }],
    ['a 6xx wins over everything', [{ status: 486, outcome: 'busy' }, { status: 603, outcome: 'rejected' }], { status: 603, outcome: 'rejected' }],
    ['busy wins over other 4xx and 5xx', [{ status: 404, outcome: 'rejected' }, { status: 486, outcome: 'busy' }, { status: 503, outcome: 'failed' }], { status: 486, outcome: 'busy' }],
    ['a phone that rang out means no answer', [{ status: 487, outcome: 'no-answer' }, { status: 503, outcome: 'failed' }], { status: 480, outcome: 'no-answer' }],
    ['the lowest other 4xx', [{ status: 488, outcome: 'rejected' }, { status: 415, outcome: 'rejected' }], { status: 415, outcome: 'rejected' }],
    ['all canceled', [{ status: 487, outcome: 'canceled' }, { status: 487, outcome: 'canceled' }], { status: 487, outcome: 'canceled' }],
    ['a 5xx only when nothing better', [{ status: 503, outcome: 'failed' }], { status: 503, outcome: 'failed' }],
  ])('%s', (_name, failures, expected) => {
    expect(bestFailure(failures)).toEqual(expected);
  });
});
