import { canTransition, cdrFinalStatusOf, cdrStatusOf, finalStateOfStatus, isFinalCallState } from '../../../src/call';

describe('call state machine', () => {
  it.each([
    ['initiated', 'ringing', true],
    ['initiated', 'answered', true],
    ['ringing', 'answered', true],
    ['answered', 'held', true],
    ['held', 'answered', true],
    ['answered', 'transferring', true],
    ['transferring', 'answered', true],
    ['answered', 'ringing', false],
    ['held', 'ringing', false],
    ['ringing', 'held', false],
    ['initiated', 'completed', false],
    ['ringing', 'busy', true],
    ['answered', 'completed', true],
    ['held', 'completed', true],
    ['completed', 'answered', false],
    ['failed', 'completed', false],
  ] as const)('%s -> %s is %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });

  it('maps states to the CDR status column', () => {
    expect(cdrStatusOf('held')).toBe('answered');
    expect(cdrStatusOf('transferring')).toBe('answered');
    expect(cdrStatusOf('no-answer')).toBe('no_answer');
    expect(cdrStatusOf('canceled')).toBe('cancelled');
    expect(cdrFinalStatusOf('failed', true)).toBe('rejected');
    expect(cdrFinalStatusOf('busy')).toBe('busy');
    expect(isFinalCallState('held')).toBe(false);
    expect(isFinalCallState('no-answer')).toBe(true);
  });

  it.each([
    [486, 'busy'],
    [600, 'busy'],
    [408, 'no-answer'],
    [480, 'no-answer'],
    [487, 'canceled'],
    [404, 'failed'],
    [503, 'failed'],
    [200, 'completed'],
  ] as const)('final status %i ends %s', (status, state) => {
    expect(finalStateOfStatus(status)).toBe(state);
  });
});
