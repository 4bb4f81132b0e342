import { CodedError } from '../../util';

/** The abort of AbortSignal.timeout (a DOMException, not always an Error of this realm). */
function isAbort(err: unknown): boolean {
  const name = err !== null && typeof err === 'object' ? (err as { name?: unknown }).name : undefined;
  return name === 'TimeoutError' || name === 'AbortError';
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    // fetch wraps socket errors: the cause says what happened (ECONNREFUSED, ENOTFOUND...).
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

/** What a collect action POSTs: the digits and where the caller is. */
export interface IvrWebhookRequest {
  readonly callId: string;
  readonly menu: string;
  readonly digits: string;
  readonly from: string | null;
  readonly to: string | null;
  /** Menus visited, oldest first. */
  readonly path: readonly string[];
}

/** Sends collected digits to a webhook and returns its parsed JSON answer. */
export interface IvrWebhookClient {
  post(url: string, body: IvrWebhookRequest): Promise<unknown>;
}

/** A webhook call failed (network, timeout, HTTP status, body); `code` says which. */
export class IvrWebhookError extends CodedError {
  constructor(code: 'IVR_WEBHOOK_NETWORK' | 'IVR_WEBHOOK_TIMEOUT' | 'IVR_WEBHOOK_STATUS' | 'IVR_WEBHOOK_BODY', message: string) {
    super(code, message);
  }
}

export interface HttpIvrWebhookClientOptions {
  /** Whole request budget, ms (default 5000): the caller is listening to silence meanwhile. */
  timeoutMs?: number;
  /** Largest answer body, bytes (default 64 KiB). */
  maxBodyBytes?: number;
  /** Signs the exact body sent; the value goes in `signatureHeader` (e.g. HMAC-SHA256 `sha256=<hex>`). */
  sign?: (body: string) => string;
  /** Header carrying the signature (default `X-Signature`). */
  signatureHeader?: string;
  /** User-Agent header (default `ai-voice-sip-server`). */
  userAgent?: string;
}

/**
 * POSTs JSON with fetch. Redirects are refused (a webhook that moves is misconfigured, and following it
 * would send caller digits to a host nobody configured); non-2xx answers and non-JSON bodies are errors.
 */
export class HttpIvrWebhookClient implements IvrWebhookClient {
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: HttpIvrWebhookClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  }

  async post(url: string, body: IvrWebhookRequest): Promise<unknown> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': this.options.userAgent ?? 'ai-voice-sip-server',
    };
    if (this.options.sign) headers[(this.options.signatureHeader ?? 'X-Signature').toLowerCase()] = this.options.sign(text);
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: text, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      if (isAbort(err)) {
        throw new IvrWebhookError('IVR_WEBHOOK_TIMEOUT', `webhook ${url} did not answer within ${this.timeoutMs} ms`);
      }
      throw new IvrWebhookError('IVR_WEBHOOK_NETWORK', `webhook ${url} failed: ${describe(err)}`);
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => undefined);
      throw new IvrWebhookError('IVR_WEBHOOK_STATUS', `webhook ${url} answered HTTP ${res.status}`);
    }
    const raw = await this.readLimited(url, res);
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new IvrWebhookError('IVR_WEBHOOK_BODY', `webhook ${url} answer is not JSON`);
    }
  }

  /** The body as text, refusing (and cancelling) one larger than maxBodyBytes without buffering it all. */
  private async readLimited(url: string, res: Response): Promise<string> {
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > this.maxBodyBytes) {
          await reader.cancel().catch(() => undefined);
          throw new IvrWebhookError('IVR_WEBHOOK_BODY', `webhook ${url} answer exceeds ${this.maxBodyBytes} bytes`);
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof IvrWebhookError) throw err;
      throw new IvrWebhookError(isAbort(err) ? 'IVR_WEBHOOK_TIMEOUT' : 'IVR_WEBHOOK_NETWORK', `webhook ${url} body could not be read: ${describe(err)}`);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}
