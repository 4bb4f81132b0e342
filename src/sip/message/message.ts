/**
 * The SIP message model (RFC 3261 §7): start line, an ordered list of header fields, and an opaque body.
 *
 * A parsed message keeps the buffer it came from. Header values are decoded from it on first access, typed
 * values (Via, From, To, CSeq...) are parsed on first access and cached (pjsip `msg_info` style), and
 * `serialize()` of an unmodified message returns a view of the original bytes. Any change through the header
 * methods, `body`, `method`, `uri`, `status` or `reason` switches serialization to the canonical form.
 *
 * Typed values returned by getters are the cached objects: treat them as read-only. To change a header, build a
 * new value (e.g. `formatVia({...msg.via, received})`) and use setHeader / prependHeader.
 */
import { SipHeaderError } from './errors';
import { canonicalHeaderName, headerKey, isListHeader } from './header-names';
import { splitTopLevel } from './lexer';
import { parseNameAddr, parseNameAddrList } from './name-addr';
import type { NameAddr } from './name-addr';
import { isValidCallId, parseCSeq, parseMaxForwards } from './scalar-headers';
import type { CSeq } from './scalar-headers';
import { formatUri, parseUri } from './uri';
import type { SipUri } from './uri';
import { parseTopVia, parseVia } from './via';
import type { Via } from './via';

const EMPTY_BODY = Buffer.alloc(0);
/** Placeholder handed to the constructor by _fromParsed, replaced at once (the URI is built on first access). */
const PENDING_URI: SipUri = { scheme: '', host: '', params: new Map(), headers: new Map() };
// RFC 3261 §7.3.1: LWS (folding) is equivalent to a single SP.
const FOLD_RE = /[ \t]*\r?\n[ \t]+/g;

/**
 * One header field line. For parsed messages `start`/`end` delimit the value bytes in the source buffer and
 * `value` is filled on first access; for fields added through the API `value` is set and `start` is -1.
 * @internal
 */
export class HeaderField {
  constructor(
    /** Registry key: lower-case full name ('via' for 'v'). */
    readonly key: string,
    /** Name as given to the API or, for a parsed unknown header, as written; a parsed known header holds its key. */
    readonly name: string,
    public value: string | undefined,
    readonly start: number,
    public end: number,
    public folded: boolean,
  ) {}
}

export abstract class SipMessage {
  abstract readonly isRequest: boolean;

  /** @internal Header fields in order. */
  _fields: HeaderField[];
  /** @internal Source buffer of a parsed message (header values are decoded from it). */
  _src: Buffer | undefined;
  /** @internal latin1 text of _src when its header section is pure ASCII: values are then cheap slices of it. */
  _text: string | undefined = undefined;
  /** @internal [start, end) of the message bytes within _src. */
  _rawStart = 0;
  /** @internal */
  _rawEnd = 0;
  /** @internal False once anything changed: serialize() then writes the canonical form. */
  _pristine: boolean;
  /** @internal Canonical bytes from the last serialize() and the start line they were written with. */
  private _wire: Buffer | undefined = undefined;
  private _wireStartLine = '';

  /** @internal Undefined for a parsed message until first access: then a view of _src[_bodyStart, _rawEnd). */
  _body: Buffer | undefined;
  /** @internal */
  _bodyStart = 0;

  // Typed caches; `undefined` = not computed yet.
  /** @internal */ _vias: Via[] | undefined = undefined;
  /** @internal */ _from: NameAddr | undefined = undefined;
  /** @internal */ _to: NameAddr | undefined = undefined;
  /** @internal */ _callId: string | undefined = undefined;
  /** @internal */ _cseq: CSeq | undefined = undefined;
  /** @internal -1 = absent */ _maxForwards: number | undefined = undefined;
  // What the parser's checks learned without building typed values; null = unknown (compute from the typed value).
  /** @internal Every Via field passed the parser's check, so the top via-parm may be parsed alone. */ _viaChecked = false;
  /** @internal */ _topBranch: string | undefined | null = null;
  /** @internal */ _fromTag: string | undefined | null = null;
  /** @internal */ _toTag: string | undefined | null = null;
  private _topVia: Via | undefined = undefined;
  private _contacts: NameAddr[] | undefined = undefined;
  private _contactStar = false;
  private _routes: NameAddr[] | undefined = undefined;
  private _recordRoutes: NameAddr[] | undefined = undefined;

  protected constructor(fields: HeaderField[], body: Buffer, src: Buffer | undefined) {
    this._fields = fields;
    this._body = body;
    this._src = src;
    this._pristine = src !== undefined;
  }

  /** Raw bytes of the body, binary-safe. For a parsed message it is a view into the received buffer. */
  get body(): Buffer {
    let b = this._body;
    if (b === undefined) {
      const start = this._bodyStart;
      b = this._body = start >= this._rawEnd ? EMPTY_BODY : (this._src as Buffer).subarray(start, this._rawEnd);
    }
    return b;
  }

  set body(b: Buffer) {
    this._body = b;
    this._pristine = false;
    this._wire = undefined;
  }

  /** @internal Decoded (unfolded, trimmed) value of a field. */
  _valueOf(f: HeaderField): string {
    let v = f.value;
    if (v === undefined) {
      const text = this._text;
      v = text !== undefined ? text.slice(f.start, f.end) : (this._src as Buffer).toString('utf8', f.start, f.end);
      if (f.folded) v = v.replace(FOLD_RE, ' ').trim();
      f.value = v;
    }
    return v;
  }

  /** First header field value of that name (case-insensitive, compact forms accepted), whole line value. */
  getHeader(name: string): string | undefined {
    const key = headerKey(name);
    const fields = this._fields;
    for (let i = 0; i < fields.length; i++) {
      if (fields[i].key === key) return this._valueOf(fields[i]);
    }
    return undefined;
  }

  /** Every value of that header, in order; list headers (Via, Contact, Route, Allow...) split on top-level commas. */
  getHeaders(name: string): string[] {
    const key = headerKey(name);
    const list = isListHeader(key);
    const out: string[] = [];
    for (const f of this._fields) {
      if (f.key !== key) continue;
      const v = this._valueOf(f);
      if (list) {
        for (const part of splitTopLevel(v)) if (part !== '') out.push(part);
      } else out.push(v);
    }
    return out;
  }

  hasHeader(name: string): boolean {
    const key = headerKey(name);
    for (const f of this._fields) if (f.key === key) return true;
    return false;
  }

  /** Replaces every field of that name with the given value(s), at the position of the first one (or at the end). */
  setHeader(name: string, value: string | string[]): void {
    const key = headerKey(name);
    const values = Array.isArray(value) ? value : [value];
    let at = -1;
    const kept: HeaderField[] = [];
    for (const f of this._fields) {
      if (f.key === key) {
        if (at < 0) at = kept.length;
      } else kept.push(f);
    }
    if (at < 0) at = kept.length;
    const added = values.map((v) => newField(key, name, v));
    kept.splice(at, 0, ...added);
    this._fields = kept;
    this._changed(key);
  }

  /** Adds a field at the end of the header section. */
  appendHeader(name: string, value: string): void {
    const key = headerKey(name);
    this._fields.push(newField(key, name, value));
    this._changed(key);
  }

  /** Adds a field before the first of that name (top Via, top Record-Route), or first in the header section. */
  prependHeader(name: string, value: string): void {
    const key = headerKey(name);
    let at = this._fields.findIndex((f) => f.key === key);
    if (at < 0) at = 0;
    this._fields.splice(at, 0, newField(key, name, value));
    this._changed(key);
  }

  /** Removes every field of that name. */
  removeHeader(name: string): void {
    const key = headerKey(name);
    const before = this._fields.length;
    this._fields = this._fields.filter((f) => f.key !== key);
    if (this._fields.length !== before) this._changed(key);
  }

  /**
   * Removes the first value of that header: for a list header whose first field holds several comma-separated
   * values ("Via: a, b") only the first value goes (RFC 3261 §7.3.1 makes both spellings equivalent).
   */
  removeFirstHeader(name: string): void {
    const key = headerKey(name);
    const idx = this._fields.findIndex((f) => f.key === key);
    if (idx < 0) return;
    const f = this._fields[idx];
    if (isListHeader(key)) {
      const parts = splitTopLevel(this._valueOf(f)).filter((p) => p !== '');
      if (parts.length > 1) {
        this._fields[idx] = newField(key, f.name, parts.slice(1).join(', '));
        this._changed(key);
        return;
      }
    }
    this._fields.splice(idx, 1);
    this._changed(key);
  }

  /** @internal Drops the typed cache of `key` and marks the message modified. */
  _changed(key: string): void {
    this._pristine = false;
    this._wire = undefined;
    switch (key) {
      case 'via':
        this._vias = undefined;
        this._topVia = undefined;
        this._viaChecked = false;
        this._topBranch = null;
        break;
      case 'from':
        this._from = undefined;
        this._fromTag = null;
        break;
      case 'to':
        this._to = undefined;
        this._toTag = null;
        break;
      case 'call-id':
        this._callId = undefined;
        break;
      case 'cseq':
        this._cseq = undefined;
        break;
      case 'max-forwards':
        this._maxForwards = undefined;
        break;
      case 'contact':
        this._contacts = undefined;
        this._contactStar = false;
        break;
      case 'route':
        this._routes = undefined;
        break;
      case 'record-route':
        this._recordRoutes = undefined;
        break;
      default:
        break;
    }
  }

  /** Top Via. Throws SipHeaderError if missing or malformed. */
  get via(): Via {
    if (this._vias === undefined && this._viaChecked) {
      // Every Via was validated by the parser: the top one can be built without building the others.
      let top = this._topVia;
      if (top === undefined) {
        const f = this._firstField('via');
        top = f === undefined ? undefined : parseTopVia(this._valueOf(f));
        if (top === undefined) throw new SipHeaderError('SIP_HEADER_MALFORMED', 'Via');
        this._topVia = top;
      }
      return top;
    }
    const vias = this.vias;
    if (vias.length === 0) throw new SipHeaderError('SIP_HEADER_MISSING', 'Via');
    return vias[0];
  }

  /** Every Via, top first; [] when none. Throws SipHeaderError if one is malformed. */
  get vias(): Via[] {
    let v = this._vias;
    if (v === undefined) {
      v = [];
      for (const f of this._fields) {
        if (f.key !== 'via') continue;
        const parsed = parseVia(this._valueOf(f));
        if (parsed === undefined) throw new SipHeaderError('SIP_HEADER_MALFORMED', 'Via');
        for (const p of parsed) v.push(p);
      }
      // The top Via already handed out stays the same object.
      if (this._topVia !== undefined && v.length > 0) v[0] = this._topVia;
      this._vias = v;
    }
    return v;
  }

  /** Top Via branch, when present. */
  get branch(): string | undefined {
    const b = this._topBranch;
    if (b !== null && this._vias === undefined && this._topVia === undefined) return b;
    return this.via.branch;
  }

  /** @internal First field with that key. */
  _firstField(key: string): HeaderField | undefined {
    const fields = this._fields;
    for (let i = 0; i < fields.length; i++) if (fields[i].key === key) return fields[i];
    return undefined;
  }

  get from(): NameAddr {
    if (this._from === undefined) this._from = this._nameAddr('From');
    return this._from;
  }

  get to(): NameAddr {
    if (this._to === undefined) this._to = this._nameAddr('To');
    return this._to;
  }

  get fromTag(): string | undefined {
    const t = this._fromTag;
    if (t !== null && this._from === undefined) return t;
    return this.from.params.get('tag') ?? undefined;
  }

  get toTag(): string | undefined {
    const t = this._toTag;
    if (t !== null && this._to === undefined) return t;
    return this.to.params.get('tag') ?? undefined;
  }

  get callId(): string {
    let c = this._callId;
    if (c === undefined) {
      const v = this.getHeader('call-id');
      if (v === undefined) throw new SipHeaderError('SIP_HEADER_MISSING', 'Call-ID');
      if (!isValidCallId(v)) throw new SipHeaderError('SIP_HEADER_MALFORMED', 'Call-ID');
      c = this._callId = v;
    }
    return c;
  }

  get cseq(): CSeq {
    let c = this._cseq;
    if (c === undefined) {
      const v = this.getHeader('cseq');
      if (v === undefined) throw new SipHeaderError('SIP_HEADER_MISSING', 'CSeq');
      c = parseCSeq(v);
      if (c === undefined) throw new SipHeaderError('SIP_HEADER_MALFORMED', 'CSeq');
      this._cseq = c;
    }
    return c;
  }

  /** Contact values; [] if none. '*' (REGISTER removal, RFC 3261 §10.2.2) gives [] and `contactStar` true. */
  get contacts(): NameAddr[] {
    let c = this._contacts;
    if (c === undefined) {
      c = [];
      this._contactStar = false;
      for (const f of this._fields) {
        if (f.key !== 'contact') continue;
        const v = this._valueOf(f);
        if (v === '*') {
          this._contactStar = true;
          continue;
        }
        const list = parseNameAddrList(v);
        if (list === undefined) throw new SipHeaderError('SIP_HEADER_MALFORMED', 'Contact');
        for (const na of list) c.push(na);
      }
      this._contacts = c;
    }
    return c;
  }

  /** True when the message carries `Contact: *`. */
  get contactStar(): boolean {
    void this.contacts;
    return this._contactStar;
  }

  get routes(): NameAddr[] {
    if (this._routes === undefined) this._routes = this._nameAddrList('Route');
    return this._routes;
  }

  get recordRoutes(): NameAddr[] {
    if (this._recordRoutes === undefined) this._recordRoutes = this._nameAddrList('Record-Route');
    return this._recordRoutes;
  }

  /** Max-Forwards value, undefined when absent. Throws SipHeaderError if malformed. */
  get maxForwards(): number | undefined {
    let m = this._maxForwards;
    if (m === undefined) {
      const v = this.getHeader('max-forwards');
      m = v === undefined ? -1 : parseMaxForwards(v);
      if (v !== undefined && m < 0) throw new SipHeaderError('SIP_HEADER_MALFORMED', 'Max-Forwards');
      this._maxForwards = m;
    }
    return m < 0 ? undefined : m;
  }

  /** Content-Type value as written (media type with parameters), undefined when absent. */
  get contentType(): string | undefined {
    return this.getHeader('content-type');
  }

  private _nameAddr(name: string): NameAddr {
    const v = this.getHeader(name);
    if (v === undefined) throw new SipHeaderError('SIP_HEADER_MISSING', name);
    const na = parseNameAddr(v);
    if (na === undefined) throw new SipHeaderError('SIP_HEADER_MALFORMED', name);
    return na;
  }

  private _nameAddrList(name: string): NameAddr[] {
    const key = headerKey(name);
    const out: NameAddr[] = [];
    for (const f of this._fields) {
      if (f.key !== key) continue;
      const list = parseNameAddrList(this._valueOf(f));
      if (list === undefined) throw new SipHeaderError('SIP_HEADER_MALFORMED', name);
      for (const na of list) out.push(na);
    }
    return out;
  }

  /** @internal The start line without CRLF, and whether it differs from the parsed one. */
  protected abstract _startLine(): string;
  /** @internal True when the start line was changed since parsing. */
  protected abstract _startChanged(): boolean;

  /**
   * Wire form. Unmodified parsed message: the original bytes (a view of the received buffer, not a copy).
   * Otherwise the canonical form: long header names, one field per line as stored, folding undone, a single
   * Content-Length equal to the body length written last.
   */
  serialize(): Buffer {
    if (this._pristine && this._src !== undefined && !this._startChanged()) {
      return this._src.subarray(this._rawStart, this._rawEnd);
    }
    // A response's canonical form is cached until it changes through the API (headers, body, start line), so the
    // transport and the server transaction retaining its bytes share one serialization. Requests are not cached:
    // a client transaction keeps its request object for up to 64*T1 and would keep the bytes too.
    const startLine = this._startLine();
    const cached = this._wire;
    if (cached !== undefined && startLine === this._wireStartLine) return cached;
    const parts: Buffer[] = [];
    let text = startLine + '\r\n';
    const src = this._src;
    for (const f of this._fields) {
      if (f.key === 'content-length') continue;
      const name = canonicalHeaderName(f.name);
      if (f.value === undefined && !f.folded && src !== undefined) {
        // Untouched parsed value: copy its bytes so non-UTF-8 octets survive unchanged.
        parts.push(Buffer.from(text + name + ': ', 'utf8'));
        parts.push(src.subarray(f.start, f.end));
        text = '\r\n';
      } else {
        text += name + ': ' + this._valueOf(f) + '\r\n';
      }
    }
    const body = this.body;
    text += 'Content-Length: ' + body.length + '\r\n\r\n';
    parts.push(Buffer.from(text, 'utf8'));
    if (body.length > 0) parts.push(body);
    const wire = Buffer.concat(parts);
    if (!this.isRequest) {
      this._wire = wire;
      this._wireStartLine = startLine;
    }
    return wire;
  }

  /**
   * The message exactly as received, as a latin1 string (one character per byte, so `Buffer.from(text, 'latin1')`
   * gives the bytes back), when it is unchanged since parsing; undefined otherwise. A compact form to retain
   * (one flat string; the parser's own text is reused when it covers exactly the message).
   */
  receivedText(): string | undefined {
    const src = this._src;
    if (!this._pristine || src === undefined || this._startChanged()) return undefined;
    const text = this._text;
    if (text !== undefined && this._rawStart === 0 && this._rawEnd === text.length) return text;
    return src.toString('latin1', this._rawStart, this._rawEnd);
  }

  /**
   * serialize() as a latin1 string (one character per byte): the compact form in which to retain a message's wire
   * bytes, `Buffer.from(text, 'latin1')` giving them back.
   */
  serializeLatin1(): string {
    const wire = this.serialize();
    return wire.toString('latin1');
  }

  /** serialize() as a string (UTF-8), for logs and tests. */
  toString(): string {
    return this.serialize().toString('utf8');
  }
}

function newField(key: string, name: string, value: string): HeaderField {
  // A value cannot carry a line break: it would inject header lines (RFC 3261 §7.3.1 folding is for input only).
  const clean = value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0 ? value.replace(/[\r\n]+[ \t]*/g, ' ') : value;
  return new HeaderField(key, name, clean, -1, -1, false);
}

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = [];

/** @internal Builds a field list from [name, value] pairs. */
export function fieldsFrom(headers: ReadonlyArray<readonly [string, string]>): HeaderField[] {
  const out: HeaderField[] = [];
  for (let i = 0; i < headers.length; i++) out.push(newField(headerKey(headers[i][0]), headers[i][0], headers[i][1]));
  return out;
}

export class SipRequest extends SipMessage {
  readonly isRequest = true as const;
  /** Method, case-sensitive (RFC 3261 §7.1). */
  method: string;
  /** Undefined for a parsed request until first access: the parser validates the Request-URI without building it. */
  private _uri: SipUri | undefined;
  /** @internal Request-URI text as received. */
  _uriText: string | undefined;
  /** @internal Canonical URI text at first access, to detect in-place changes. */
  private _uriSnapshot: string | undefined = undefined;
  private _parsedMethod: string | undefined;

  /**
   * A request from parts; most code uses createRequest(). `headers` are [name, value] pairs in order; no
   * Content-Length is added here (serialize() writes it).
   */
  constructor(method: string, uri: SipUri, headers: ReadonlyArray<readonly [string, string]> = [], body: Buffer = EMPTY_BODY) {
    super(fieldsFrom(headers), body, undefined);
    this.method = method;
    this._uri = uri;
    this._uriText = undefined;
    this._parsedMethod = undefined;
  }

  /** @internal Used by the parser. */
  static _fromParsed(
    method: string,
    uri: SipUri | undefined,
    uriText: string,
    fields: HeaderField[],
    bodyStart: number,
    src: Buffer,
    rawStart: number,
    rawEnd: number,
  ): SipRequest {
    const r = new SipRequest(method, PENDING_URI, NO_HEADERS, EMPTY_BODY);
    r._uri = uri;
    r._body = undefined;
    r._bodyStart = bodyStart;
    r._fields = fields;
    r._src = src;
    r._rawStart = rawStart;
    r._rawEnd = rawEnd;
    r._pristine = true;
    r._uriText = uriText;
    r._parsedMethod = method;
    return r;
  }

  /** Request-URI. Changing it in place or assigning a new one is detected by serialize(). */
  get uri(): SipUri {
    let u = this._uri;
    if (u === undefined) {
      const text = this._uriText ?? '';
      // A Request-URI the parser refused (SipParseError.request) reads as an empty URI keeping the text in `raw`.
      u = this._uri = parseUri(text) ?? { scheme: '', host: '', params: new Map(), headers: new Map(), raw: text };
    }
    if (this._uriSnapshot === undefined && this._uriText !== undefined) this._uriSnapshot = formatUri(u);
    return u;
  }

  set uri(u: SipUri) {
    this._uri = u;
    this._uriText = undefined;
    this._pristine = false;
  }

  private _uriChanged(): boolean {
    return this._uriSnapshot !== undefined && this._uri !== undefined && formatUri(this._uri) !== this._uriSnapshot;
  }

  protected _startChanged(): boolean {
    return this.method !== this._parsedMethod || this._uriChanged();
  }

  protected _startLine(): string {
    // Keep the Request-URI exactly as received unless it changed (escaping choices survive a header edit).
    const uriText = this._uriText !== undefined && !this._uriChanged() ? this._uriText : formatUri(this.uri);
    return `${this.method} ${uriText} SIP/2.0`;
  }
}

export class SipResponse extends SipMessage {
  readonly isRequest = false as const;
  /** Status-Code, 100..699 (RFC 3261 §7.2). */
  status: number;
  /** Reason-Phrase, decoded as UTF-8; may be empty. */
  reason: string;
  private _parsedStatus: number | undefined;
  private _parsedReason: string | undefined;

  constructor(status: number, reason: string, headers: ReadonlyArray<readonly [string, string]> = [], body: Buffer = EMPTY_BODY) {
    super(fieldsFrom(headers), body, undefined);
    this.status = status;
    this.reason = reason;
    this._parsedStatus = undefined;
    this._parsedReason = undefined;
  }

  /** @internal Used by the parser. */
  static _fromParsed(
    status: number,
    reason: string,
    fields: HeaderField[],
    bodyStart: number,
    src: Buffer,
    rawStart: number,
    rawEnd: number,
  ): SipResponse {
    const r = new SipResponse(status, reason, NO_HEADERS, EMPTY_BODY);
    r._body = undefined;
    r._bodyStart = bodyStart;
    r._fields = fields;
    r._src = src;
    r._rawStart = rawStart;
    r._rawEnd = rawEnd;
    r._pristine = true;
    r._parsedStatus = status;
    r._parsedReason = reason;
    return r;
  }

  protected _startChanged(): boolean {
    return this.status !== this._parsedStatus || this.reason !== this._parsedReason;
  }

  protected _startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}
