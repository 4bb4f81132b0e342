import { isIP } from 'node:net';
import { ConfigError } from './config-error';
import { configVariable, type ConfigVariableName } from './config-variables';

/** An environment as given to the process (values may be missing). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface IntRange {
  min?: number;
  max?: number;
}

// RFC 1123 §2.1 host names: labels of letters, digits and hyphens, not starting or ending with '-'.
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** True for an IP literal or a syntactically valid DNS host name. */
export function isHostOrIp(value: string): boolean {
  if (isIP(value) !== 0) return true;
  if (value.length > 253) return false;
  return value.split('.').every((label) => HOST_LABEL.test(label));
}

/**
 * Typed access to environment variables. Each reader takes the variable's value, or its documented
 * default when unset or empty (an empty `FOO=` in a compose file means "not set"), and throws a
 * `ConfigError` naming the variable when the value is invalid.
 */
export class EnvReader {
  constructor(private readonly env: Env) {}

  /** The trimmed value, the table default, or undefined. */
  raw(name: ConfigVariableName): string | undefined {
    const value = this.env[name]?.trim();
    if (value !== undefined && value !== '') return value;
    return configVariable(name).default;
  }

  /** True when the variable is present and non-empty in the environment (defaults ignored). */
  isSet(name: ConfigVariableName): boolean {
    const value = this.env[name];
    return value !== undefined && value.trim() !== '';
  }

  optionalString(name: ConfigVariableName): string | undefined {
    return this.raw(name);
  }

  string(name: ConfigVariableName, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: ConfigVariableName, range: IntRange = {}, fallback?: number): number {
    const value = this.raw(name);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(name, 'is required');
    }
    if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer, got "${value}"`);
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new ConfigError(name, `is out of range, got "${value}"`);
    if (range.min !== undefined && n < range.min) throw new ConfigError(name, `must be >= ${range.min}, got ${n}`);
    if (range.max !== undefined && n > range.max) throw new ConfigError(name, `must be <= ${range.max}, got ${n}`);
    return n;
  }

  /** A TCP/UDP port 1-65535; 0 (let the OS choose) only where `allowZero`, which tests use. */
  port(name: ConfigVariableName, allowZero: boolean): number {
    const value = this.raw(name);
    if (value !== undefined && /^\d+$/.test(value)) {
      const n = Number(value);
      if (n > 65535 || (n === 0 && !allowZero)) {
        throw new ConfigError(name, `must be a port number ${allowZero ? '0' : '1'}-65535, got ${value}`);
      }
    }
    return this.int(name, { min: allowZero ? 0 : 1, max: 65535 });
  }

  bool(name: ConfigVariableName): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === undefined) return false;
    throw new ConfigError(name, `must be true, false, 1 or 0, got "${value}"`);
  }

  oneOf<T extends string>(name: ConfigVariableName, allowed: readonly T[]): T {
    const value = this.raw(name)?.toLowerCase();
    const found = allowed.find((a) => a === value);
    if (found === undefined) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${value ?? ''}"`);
    return found;
  }

  /** Comma-separated list, trimmed, empty items dropped. */
  list(name: ConfigVariableName): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** An absolute URL whose scheme is one of `protocols` (with the trailing colon, e.g. 'wss:'). */
  optionalUrl(name: ConfigVariableName, protocols: readonly string[]): URL | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(name, 'is not a valid URL');
    }
    if (!protocols.includes(url.protocol)) {
      throw new ConfigError(name, `must use ${protocols.map((p) => p.slice(0, -1)).join(' or ')}, got ${url.protocol.slice(0, -1)}`);
    }
    if (url.hostname === '') throw new ConfigError(name, 'has no host');
    return url;
  }

  /** An IPv4 or IPv6 literal. */
  ip(name: ConfigVariableName, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    if (isIP(value) === 0) throw new ConfigError(name, `must be an IPv4 or IPv6 address, got "${value}"`);
    return value;
  }

  /** An IP literal or DNS host name. */
  host(name: ConfigVariableName, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    if (!isHostOrIp(value)) throw new ConfigError(name, `must be a host name or IP address, got "${value}"`);
    return value;
  }
}
