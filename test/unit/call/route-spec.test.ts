import { formatRoute, parseForwardRules, parseRoute, DEFAULT_NO_ANSWER_S } from '../../../src/call';

describe('parseRoute', () => {
  it.each([
    ['ai', { kind: 'ai' }],
    ['echo', { kind: 'echo' }],
    [' answer ', { kind: 'answer' }],
    ['reject', { kind: 'reject' }],
    ['ivr:main', { kind: 'ivr', id: 'main' }],
    ['queue:7f0c', { kind: 'queue', id: '7f0c' }],
    ['forward:sip:alice@example.com', { kind: 'forward', target: 'sip:alice@example.com' }],
    ['forward:+15551234567', { kind: 'forward', target: '+15551234567' }],
  ])('%s', (text, spec) => {
    const r = parseRoute(text);
    expect(r).toEqual(spec);
    expect(parseRoute(formatRoute(r!))).toEqual(spec);
  });

  it.each(['', 'voicemail', 'ivr:', 'forward', 'forward: ', 'queue:a b', 'forward:<sip:x>', `ivr:${'x'.repeat(300)}`])('refuses %j', (text) => {
    expect(parseRoute(text)).toBeUndefined();
  });
});

describe('parseForwardRules', () => {
  it('reads each condition once, the first rule winning, with defaults', () => {
    const r = parseForwardRules([
      { when: 'busy', target: 'sip:b@x' },
      { when: 'no_answer', target: '+1555', timeoutS: 12 },
      { when: 'busy', target: 'sip:ignored@x' },
      { when: 'always', target: ' sip:a@x ' },
    ]);
    expect(r.always).toEqual({ when: 'always', target: 'sip:a@x', timeoutS: DEFAULT_NO_ANSWER_S });
    expect(r.busy?.target).toBe('sip:b@x');
    expect(r.noAnswer).toEqual({ when: 'no-answer', target: '+1555', timeoutS: 12 });
  });

  it('skips entries that make no sense instead of failing routing', () => {
    const r = parseForwardRules([null, 'x', 3, [], { when: 'sometimes', target: 'sip:a@x' }, { when: 'busy' }, { when: 'busy', target: '' }, { when: 'no_answer', target: 'sip:n@x', timeoutS: -5 }]);
    expect(r.always).toBeUndefined();
    expect(r.busy).toBeUndefined();
    expect(r.noAnswer?.timeoutS).toBe(DEFAULT_NO_ANSWER_S);
  });
});
