import { Dialog, DialogManager, type UacInviteOutcome } from '../../../../src/sip/dialog';
import { createResponse } from '../../../../src/sip/message';
import { VirtualClock } from '../../../../src/util';
import { aliceInvite, CALL_ID, inviteThroughProxies, requestFromBob, responseToAlice } from './sip-text';

function confirmed(o: UacInviteOutcome): Extract<UacInviteOutcome, { kind: 'confirmed' }> {
  if (o.kind !== 'confirmed') throw new Error(`expected confirmed, got ${o.kind}`);
  return o;
}
function early(o: UacInviteOutcome): Extract<UacInviteOutcome, { kind: 'early' }> {
  if (o.kind !== 'early') throw new Error(`expected early, got ${o.kind}`);
  return o;
}

describe('DialogManager: matching in-dialog requests (RFC 3261 §12.2.2)', () => {
  function managerWithAliceDialog(): { m: DialogManager; d: Dialog } {
    const m = new DialogManager();
    const d = confirmed(m.handleUacInviteResponse(aliceInvite(), responseToAlice(200))).dialog;
    return { m, d };
  }

  it('a request with matching tags finds its dialog', () => {
    const { m, d } = managerWithAliceDialog();
    expect(m.matchRequest(requestFromBob('BYE', 5))).toEqual({ kind: 'dialog', dialog: d });
  });

  it.each([
    ['unknown remote tag', 'BYE', { fromTag: 'other' }, true],
    ['unknown local tag', 'INFO', { toTag: 'nope' }, true],
    ['ACK for an unknown dialog is not answered', 'ACK', { toTag: 'nope' }, false],
  ])('%s -> 481', (_name, method, tags, answer) => {
    const { m } = managerWithAliceDialog();
    expect(m.matchRequest(requestFromBob(method, 5, tags))).toEqual({ kind: 'unknown', status: 481, reason: 'Call/Transaction Does Not Exist', answer });
  });

  it('a request without To tag is out of dialog', () => {
    const { m } = managerWithAliceDialog();
    expect(m.matchRequest(inviteThroughProxies())).toEqual({ kind: 'outOfDialog' });
  });

  it('after termination the dialog is gone and its requests get 481', () => {
    const { m, d } = managerWithAliceDialog();
    expect(m.size).toBe(1);
    expect(m.active).toBe(1);
    d.terminate('local');
    expect(m.size).toBe(0);
    expect(m.byCallId(CALL_ID)).toEqual([]);
    expect(m.matchRequest(requestFromBob('BYE', 5))).toMatchObject({ kind: 'unknown', status: 481 });
    expect(m.createdTotal).toBe(1);
    expect(m.terminatedTotal).toBe(1);
  });

  it('matchResponse finds the UAC dialog by From tag and To tag', () => {
    const { m, d } = managerWithAliceDialog();
    expect(m.matchResponse(responseToAlice(200, { cseq: 2, method: 'INFO' }))).toBe(d);
    expect(m.matchResponse(responseToAlice(200, { cseq: 2, method: 'INFO', toTag: 'zzz' }))).toBeUndefined();
  });
});

describe('DialogManager: UAS dialogs', () => {
  it('180 creates an early dialog, the 200 confirms the same one', () => {
    const m = new DialogManager();
    const invite = inviteThroughProxies();
    const ringing = m.uasResponseSent(invite, createResponse(invite, 180, undefined, { toTag: 'b1', headers: [['Contact', '<sip:bob@192.0.2.4>']] }));
    expect(ringing).toMatchObject({ ok: true, created: true });
    expect(m.counts()).toEqual({ early: 1, confirmed: 0 });
    const ok = m.uasResponseSent(invite, createResponse(invite, 200, undefined, { toTag: 'b1', headers: [['Contact', '<sip:bob@192.0.2.4>']] }));
    expect(ok).toMatchObject({ ok: true, created: false });
    if (!ringing.ok || !ok.ok) throw new Error('unreachable');
    expect(ok.dialog).toBe(ringing.dialog);
    expect(m.counts()).toEqual({ early: 0, confirmed: 1 });
    expect(m.get({ callId: CALL_ID, localTag: 'b1', remoteTag: '9fxced76sl' })).toBe(ok.dialog);
  });

  it('a rejection after 180 removes the early dialog', () => {
    const m = new DialogManager();
    const invite = inviteThroughProxies();
    m.uasResponseSent(invite, createResponse(invite, 180, undefined, { toTag: 'b1', headers: [['Contact', '<sip:bob@192.0.2.4>']] }));
    m.uasResponseSent(invite, createResponse(invite, 486, undefined, { toTag: 'b1' }));
    expect(m.size).toBe(0);
  });

  it('reports why a dialog could not be created', () => {
    const m = new DialogManager();
    const invite = inviteThroughProxies();
    expect(m.uasResponseSent(invite, createResponse(invite, 200))).toMatchObject({ ok: false, code: 'DIALOG_NO_TAG' });
    expect(m.size).toBe(0);
  });

  it('refuses duplicate or terminated dialogs', () => {
    const m = new DialogManager();
    const invite = inviteThroughProxies();
    const res = createResponse(invite, 200, undefined, { toTag: 'b1', headers: [['Contact', '<sip:bob@192.0.2.4>']] });
    const a = Dialog.fromUasResponse(invite, res);
    const b = Dialog.fromUasResponse(invite, res);
    if (!a.ok || !b.ok) throw new Error('unreachable');
    m.add(a.dialog);
    expect(() => m.add(b.dialog)).toThrow('already exists');
    b.dialog.terminate();
    expect(() => m.add(b.dialog)).toThrow('terminated');
    expect(m.remove(a.dialog)).toBe(true);
    expect(m.remove(a.dialog)).toBe(false);
    a.dialog.terminate();
    expect(m.terminatedTotal).toBe(0);
  });
});

describe('DialogManager: forking of the UAC INVITE (RFC 3261 §12.1.2, §13.2.2.4)', () => {
  it('early dialogs per remote tag, 2xx per fork, retransmission and additional 2xx, 64*T1 retirement', () => {
    const clock = new VirtualClock();
    const m = new DialogManager({ clock });
    const invite = aliceInvite();
    expect(m.handleUacInviteResponse(invite, responseToAlice(100, { toTag: '' }))).toEqual({ kind: 'none' });
    expect(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: '' }))).toEqual({ kind: 'none' });

    const a = early(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: 'fork-a', contact: '<sip:a@192.0.2.10>' })));
    const b = early(m.handleUacInviteResponse(invite, responseToAlice(183, { toTag: 'fork-b', contact: '<sip:b@192.0.2.11>' })));
    const c = early(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: 'fork-c', contact: '<sip:c@192.0.2.12>' })));
    expect([a.created, b.created, c.created]).toEqual([true, true, true]);
    expect(early(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: 'fork-a' }))).created).toBe(false);
    expect(m.byCallId(CALL_ID)).toHaveLength(3);
    expect(m.counts()).toEqual({ early: 3, confirmed: 0 });

    const okB = confirmed(m.handleUacInviteResponse(invite, responseToAlice(200, { toTag: 'fork-b', contact: '<sip:b@192.0.2.11>' })));
    expect(okB).toMatchObject({ created: false, retransmission: false, additional: false });
    expect(okB.dialog).toBe(b.dialog);
    expect(okB.dialog.state).toBe('Confirmed');
    expect(a.dialog.state).toBe('Early');

    const again = confirmed(m.handleUacInviteResponse(invite, responseToAlice(200, { toTag: 'fork-b' })));
    expect(again).toMatchObject({ retransmission: true, additional: false });

    const okA = confirmed(m.handleUacInviteResponse(invite, responseToAlice(200, { toTag: 'fork-a' })));
    expect(okA).toMatchObject({ created: false, additional: true });

    const okD = confirmed(m.handleUacInviteResponse(invite, responseToAlice(200, { toTag: 'fork-d' })));
    expect(okD).toMatchObject({ created: true, additional: true });
    expect(m.counts()).toEqual({ early: 1, confirmed: 3 });

    // Early fork c never answered: retired 64*T1 after the first 2xx.
    clock.advance(31_999);
    expect(c.dialog.state).toBe('Early');
    clock.advance(1);
    expect(c.dialog.state).toBe('Terminated');
    expect(c.dialog.terminatedBy).toBe('forkExpired');
    expect(m.counts()).toEqual({ early: 0, confirmed: 3 });
    expect(clock.pending()).toBe(0);
  });

  it('a late provisional on a confirmed dialog changes nothing', () => {
    const m = new DialogManager();
    const invite = aliceInvite();
    confirmed(m.handleUacInviteResponse(invite, responseToAlice(200)));
    expect(m.handleUacInviteResponse(invite, responseToAlice(180))).toEqual({ kind: 'none' });
  });

  it('a non-2xx final response terminates every early dialog of the INVITE', () => {
    const m = new DialogManager();
    const invite = aliceInvite();
    const a = early(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: 'fork-a' })));
    const b = early(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: 'fork-b' })));
    const outcome = m.handleUacInviteResponse(invite, responseToAlice(486, { toTag: 'fork-z' }));
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') throw new Error('unreachable');
    expect(outcome.terminated).toEqual([a.dialog, b.dialog]);
    expect(a.dialog.terminatedBy).toBe('rejected');
    expect(m.size).toBe(0);
    expect(m.terminatedTotal).toBe(2);
  });

  it('a failure of another INVITE on the same Call-ID leaves confirmed dialogs alone', () => {
    const m = new DialogManager();
    const d = confirmed(m.handleUacInviteResponse(aliceInvite(1), responseToAlice(200))).dialog;
    const outcome = m.handleUacInviteResponse(aliceInvite(2), responseToAlice(486, { cseq: 2 }));
    expect(outcome).toEqual({ kind: 'failed', terminated: [] });
    expect(d.state).toBe('Confirmed');
  });

  it('terminateAll ends every dialog and cancels the fork timers', () => {
    const clock = new VirtualClock();
    const m = new DialogManager({ clock });
    const invite = aliceInvite();
    early(m.handleUacInviteResponse(invite, responseToAlice(180, { toTag: 'fork-a' })));
    confirmed(m.handleUacInviteResponse(invite, responseToAlice(200, { toTag: 'fork-b' })));
    expect(clock.pending()).toBe(1);
    m.terminateAll();
    expect(m.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});
