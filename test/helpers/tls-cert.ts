import { generate } from 'selfsigned';

/** A self-signed certificate for TLS tests: valid for localhost and 127.0.0.1 (and ::1), PEM encoded. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

let cached: Promise<TestCertificate> | undefined;

/**
 * Generate (once per test process) a self-signed P-256 certificate whose subjectAltName covers
 * DNS:localhost, IP:127.0.0.1 and IP:::1, so clients that verify the peer can trust it by passing it as `ca`.
 */
export function testCertificate(): Promise<TestCertificate> {
  cached ??= (async () => {
    const notBefore = new Date(Date.now() - 60_000);
    const notAfter = new Date(notBefore.getTime() + 7 * 24 * 3600 * 1000);
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: notBefore,
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    });
    return { cert: pems.cert, key: pems.private };
  })();
  return cached;
}
