import { NonInviteServerTransaction } from '../../../../src/sip/transaction';
import { InvalidStateError } from '../../../../src/util';
import { createLoopPair, RecordingHandlers, type LoopPair } from '../../../helpers/loop-transport';
import { drainAndExpectEmpty, makeRequest, reply } from './fixtures';

describe('NonInviteServerTransaction (RFC 3261 §17.2.2)', () => {
  let pair: LoopPair;
  afterEach(() => pair.close());

  const register = () => makeRequest({ method: 'REGISTER', from: pair.uacAddr, to: pair.uasAddr });

  it('answers a retransmitted request with the final response, then ends on Timer J', () => {
    pair = createLoopPair();
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200));
    let first = true;
    pair.loop.discard = (rec) => rec.startLine.startsWith('SIP/2.0 200') && first && !(first = false);
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(register(), pair.uasAddr, h);
    pair.clock.advance(0);
    const nist = pair.uasTu.requests()[0].tx;
    expect(nist).toBeInstanceOf(NonInviteServerTransaction);
    expect(nist.state).toBe('Completed');
    expect(nist.pendingLongTimer).toBe('TIMER_J');
    pair.clock.advance(500);
    expect(pair.loop.sendTimes(pair.uasAddr, 'SIP/2.0 200')).toEqual([0, 500]);
    expect(h.types()).toEqual(['final']);
    expect(pair.uasTu.requests()).toHaveLength(1);
    expect(() => nist.respond(reply(nist.request, 500))).toThrow(InvalidStateError);

    pair.clock.advance(31_400);
    expect(nist.state).toBe('Completed');
    pair.clock.advance(100 + pair.uas.wheel.tickMs); // 64*T1 after the final
    expect(nist.state).toBe('Terminated');
    drainAndExpectEmpty(pair);
  });

  it('discards retransmissions in Trying and re-sends the last provisional in Proceeding', () => {
    pair = createLoopPair();
    const h = new RecordingHandlers(pair.clock);
    pair.uac.sendRequest(register(), pair.uasAddr, h);
    pair.clock.advance(500); // retransmission at 500 while Trying: nothing sent
    expect(pair.loop.sent(pair.uasAddr)).toHaveLength(0);
    const nist = pair.uasTu.requests()[0].tx;
    expect(nist.state).toBe('Trying');
    nist.respond(reply(nist.request, 100));
    expect(nist.state).toBe('Proceeding');
    pair.clock.advance(1_000); // retransmission at 1500: the 100 again
    expect(pair.loop.sendTimes(pair.uasAddr, 'SIP/2.0 100')).toEqual([500, 1500]);
    expect(pair.uas.stats.absorbed).toBe(2);
    nist.respond(reply(nist.request, 200));
    pair.clock.advance(0);
    expect(h.types()).toEqual(['provisional', 'provisional', 'final']);
    drainAndExpectEmpty(pair);
  });

  it('ends right after the final over a reliable transport (Timer J zero)', () => {
    pair = createLoopPair({ transport: 'TCP' });
    pair.uasTu.answer = (tx, req) => tx.respond(reply(req, 200));
    pair.uac.sendRequest(register(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    expect(pair.uasTu.requests()[0].tx.state).toBe('Terminated');
    expect(pair.uas.size).toBe(0);
    drainAndExpectEmpty(pair);
  });

  it('sends responses to the responseTarget the layer above chose', () => {
    pair = createLoopPair();
    const elsewhere = { transport: 'UDP', address: '10.0.0.9', port: 5080 };
    pair.uasTu.answer = (tx, req) => {
      expect(tx.source).toEqual(pair.uacAddr);
      expect(tx.source).not.toBe(pair.uacAddr); // kept as a copy: the UDP transport reuses its source object
      tx.responseTarget = elsewhere;
      tx.respond(reply(req, 200));
    };
    pair.uac.sendRequest(register(), pair.uasAddr, new RecordingHandlers(pair.clock));
    pair.clock.advance(0);
    const sent = pair.loop.sent(pair.uasAddr, 'SIP/2.0 200');
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toEqual(elsewhere);
    expect(sent[0].fate).toBe('unroutable');
    drainAndExpectEmpty(pair);
  });
});
