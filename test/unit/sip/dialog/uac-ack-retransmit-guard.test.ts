import { DialogManager, UacAckRetransmitGuard } from '../../../../src/sip/dialog';
import { VirtualClock } from '../../../../src/util';
import { aliceInvite, CALL_ID, responseToAlice } from './sip-text';

function setup() {
  const clock = new VirtualClock();
  const guard = new UacAckRetransmitGuard({ clock });
  const m = new DialogManager();
  const outcome = m.handleUacInviteResponse(aliceInvite(), responseToAlice(200));
  if (outcome.kind !== 'confirmed') throw new Error('unreachable');
  const ack = outcome.dialog.createAck(1);
  guard.remember(ack);
  return { clock, guard, dialog: outcome.dialog, ack };
}

describe('UacAckRetransmitGuard (RFC 3261 §13.2.2.4)', () => {
  it('answers a retransmitted 2xx with the very same ACK', () => {
    const { guard, ack } = setup();
    expect(guard.ackFor(responseToAlice(200))).toBe(ack);
    expect(guard.ackFor(responseToAlice(200))).toBe(ack);
  });

  it.each([
    ['a provisional response', responseToAlice(180)],
    ['a 2xx of another fork', responseToAlice(200, { toTag: 'other' })],
    ['a 2xx to another INVITE', responseToAlice(200, { cseq: 2 })],
    ['a 2xx to a non-INVITE', responseToAlice(200, { method: 'INFO' })],
  ])('ignores %s', (_name, res) => {
    const { guard } = setup();
    expect(guard.ackFor(res)).toBeUndefined();
  });

  it('forgets the ACK after 64*T1', () => {
    const { clock, guard } = setup();
    clock.advance(31_999);
    expect(guard.ackFor(responseToAlice(200))).toBeDefined();
    clock.advance(1);
    expect(guard.ackFor(responseToAlice(200))).toBeUndefined();
    expect(guard.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('remembers re-INVITE ACKs separately and forgets a whole dialog at once', () => {
    const { clock, guard, dialog } = setup();
    dialog.createRequest('INVITE');
    dialog.responseReceived(responseToAlice(200, { cseq: 2 }));
    const ack2 = dialog.createAck(2);
    guard.remember(ack2);
    expect(guard.size).toBe(2);
    expect(guard.ackFor(responseToAlice(200, { cseq: 2 }))).toBe(ack2);
    guard.forgetDialog(CALL_ID, dialog.id.localTag, dialog.id.remoteTag);
    expect(guard.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('a newer ACK for the same 2xx replaces the old one and its timer', () => {
    const { clock, guard, dialog } = setup();
    clock.advance(10_000);
    const again = dialog.createAck(1);
    guard.remember(again);
    expect(clock.pending()).toBe(1);
    clock.advance(25_000);
    expect(guard.ackFor(responseToAlice(200))).toBe(again);
    guard.clear();
    expect(clock.pending()).toBe(0);
  });
});
