import { CONTENT_LENGTH_INVALID, CONTENT_LENGTH_MISSING, scanContentLength } from '../../../../src/sip/transport';

/** Scan a head given without its final CRLFCRLF. */
function scan(head: string): number {
  const buf = Buffer.from(`${head}\r\n\r\n`, 'latin1');
  return scanContentLength(buf, 0, buf.length - 4);
}

const START = 'INVITE sip:bob@example.com SIP/2.0';

describe('scanContentLength', () => {
  const cases: Array<[string, string, number]> = [
    ['plain header', `${START}\r\nVia: SIP/2.0/TCP a\r\nContent-Length: 42`, 42],
    ['zero', `${START}\r\nContent-Length: 0`, 0],
    ['lower case name', `${START}\r\ncontent-length: 7`, 7],
    ['mixed case name', `${START}\r\nCoNtEnT-LeNgTh: 7`, 7],
    ['compact form l', `${START}\r\nl: 13`, 13],
    ['compact form L', `${START}\r\nL:13`, 13],
    ['whitespace before colon', `${START}\r\nContent-Length \t: 5`, 5],
    ['no whitespace', `${START}\r\nContent-Length:5`, 5],
    ['trailing whitespace', `${START}\r\nContent-Length: 5  \t`, 5],
    ['folded value', `${START}\r\nContent-Length:\r\n   99`, 99],
    ['folded after value', `${START}\r\nContent-Length: 99\r\n \r\nTo: x`, 99],
    ['first header', `${START}\r\nContent-Length: 3\r\nVia: SIP/2.0/TCP h`, 3],
    ['in the middle', `${START}\r\nVia: x\r\nContent-Length: 12\r\nTo: y`, 12],
    ['two agreeing headers', `${START}\r\nContent-Length: 4\r\nl: 4`, 4],
    ['leading zeros', `${START}\r\nContent-Length: 007`, 7],
    ['response start line', `SIP/2.0 200 OK\r\nContent-Length: 10`, 10],
    ['missing', `${START}\r\nVia: SIP/2.0/TCP a\r\nTo: b`, CONTENT_LENGTH_MISSING],
    ['no headers at all', START, CONTENT_LENGTH_MISSING],
    ['a header that starts with l', `${START}\r\nLocation: 5`, CONTENT_LENGTH_MISSING],
    ['a longer name with the prefix', `${START}\r\nContent-Length-X: 5`, CONTENT_LENGTH_MISSING],
    ['continuation line mentioning it', `${START}\r\nSubject: a\r\n Content-Length: 5`, CONTENT_LENGTH_MISSING],
    ['Content-Length in the start line only', 'INVITE sip:l:5@x SIP/2.0\r\nTo: a', CONTENT_LENGTH_MISSING],
    ['empty value', `${START}\r\nContent-Length: `, CONTENT_LENGTH_INVALID],
    ['letters', `${START}\r\nContent-Length: abc`, CONTENT_LENGTH_INVALID],
    ['digits then garbage', `${START}\r\nContent-Length: 12abc`, CONTENT_LENGTH_INVALID],
    ['negative', `${START}\r\nContent-Length: -1`, CONTENT_LENGTH_INVALID],
    ['two numbers', `${START}\r\nContent-Length: 1 2`, CONTENT_LENGTH_INVALID],
    ['absurd number of digits', `${START}\r\nContent-Length: 1234567890123`, CONTENT_LENGTH_INVALID],
    ['conflicting headers', `${START}\r\nContent-Length: 4\r\nl: 5`, CONTENT_LENGTH_INVALID],
  ];
  it.each(cases)('%s', (_name, head, expected) => {
    expect(scan(head)).toBe(expected);
  });

  it('scans a message that does not start at offset 0', () => {
    const prefix = 'garbage-before';
    const buf = Buffer.from(`${prefix}${START}\r\nContent-Length: 8\r\n\r\n`, 'latin1');
    expect(scanContentLength(buf, prefix.length, buf.length - 4)).toBe(8);
  });

  it('never looks past the header section', () => {
    const buf = Buffer.from(`${START}\r\nTo: a\r\n\r\nContent-Length: 5\r\n`, 'latin1');
    expect(scanContentLength(buf, 0, buf.indexOf('\r\n\r\n'))).toBe(CONTENT_LENGTH_MISSING);
  });
});
