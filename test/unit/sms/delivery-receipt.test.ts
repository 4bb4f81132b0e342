import { isReceipt, messageIdIn, parseImdn, receiptOf } from '../../../src/sms';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

function imdn(status: string, kind = 'delivery-notification', prefix = ''): string {
  const p = prefix ? `${prefix}:` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<${p}imdn xmlns${prefix ? `:${prefix}` : ''}="urn:ietf:params:xml:ns:imdn">
  <${p}message-id>${ID}</${p}message-id>
  <${p}datetime>2024-05-01T10:00:00Z</${p}datetime>
  <${p}${kind}><${p}status><${p}${status}/></${p}status></${p}${kind}>
</${p}imdn>`;
}

const noHeaders = (): string | undefined => undefined;

describe('IMDN delivery notifications (RFC 5438 §7.2.1.1)', () => {
  it('reads a positive delivery notification', () => {
    expect(parseImdn(imdn('delivered'))).toEqual({ messageId: ID, delivered: true, status: 'delivered' });
  });

  it.each(['failed', 'forbidden', 'error'])('reads <%s/> as a failed delivery', (status) => {
    expect(parseImdn(imdn(status))).toMatchObject({ messageId: ID, delivered: false, status });
  });

  it('accepts namespace prefixes', () => {
    expect(parseImdn(imdn('delivered', 'delivery-notification', 'im'))).toMatchObject({ delivered: true });
  });

  it('treats a display notification as delivered', () => {
    expect(parseImdn(imdn('displayed', 'display-notification'))).toMatchObject({ delivered: true, status: 'displayed' });
  });

  it('ignores processing notifications and documents without our id', () => {
    expect(parseImdn(imdn('processed', 'processing-notification'))).toBeUndefined();
    expect(parseImdn('<imdn><message-id>abc</message-id></imdn>')).toBeUndefined();
    expect(parseImdn('not xml at all')).toBeUndefined();
  });

  it('finds our id inside a Call-ID style reference', () => {
    expect(messageIdIn(`sms-${ID.toUpperCase()}-1@example.com`)).toBe(ID);
  });

  it('routes message/imdn+xml and CPIM-wrapped IMDN through receiptOf', () => {
    expect(receiptOf('message/imdn+xml', Buffer.from(imdn('delivered')), noHeaders)).toMatchObject({ delivered: true });
    const cpim = `From: <sip:gw@example.com>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\r\nContent-Type: message/imdn+xml\r\nContent-Disposition: notification\r\n\r\n${imdn('failed')}`;
    expect(receiptOf('message/cpim', Buffer.from(cpim), noHeaders)).toMatchObject({ delivered: false });
    expect(isReceipt('message/imdn+xml', noHeaders)).toBe(true);
    expect(isReceipt('text/plain;charset=UTF-8', noHeaders)).toBe(false);
  });
});

describe('provider status MESSAGE', () => {
  const headers =
    (h: Record<string, string>) =>
    (name: string): string | undefined =>
      h[name];

  it('reads X-SMS-Status with X-SMS-Message-ID', () => {
    const h = headers({ 'X-SMS-Status': 'DELIVERED', 'X-SMS-Message-ID': ID });
    expect(isReceipt('text/plain', h)).toBe(true);
    expect(receiptOf('text/plain', Buffer.alloc(0), h)).toEqual({ messageId: ID, delivered: true, status: 'delivered' });
  });

  it('reads a negative status with its error text', () => {
    const h = headers({ 'X-SMS-Status': 'undelivered', 'X-SMS-Message-ID': ID, 'X-SMS-Error': 'absent subscriber' });
    expect(receiptOf(undefined, Buffer.alloc(0), h)).toEqual({ messageId: ID, delivered: false, status: 'undelivered', error: 'absent subscriber' });
  });

  it('ignores an unknown status word or a missing id', () => {
    expect(receiptOf(undefined, Buffer.alloc(0), headers({ 'X-SMS-Status': 'enroute', 'X-SMS-Message-ID': ID }))).toBeUndefined();
    expect(receiptOf(undefined, Buffer.alloc(0), headers({ 'X-SMS-Status': 'delivered' }))).toBeUndefined();
  });
});
