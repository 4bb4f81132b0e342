/**
 * Mint an API token: `npm run token -- --sub ops --scope admin --ttl 1h`.
 *
 * Signs HS256 with JWT_SECRET_KEY from the same configuration the server reads, or RS256/ES256 with
 * `--private-key <pem>` when the server verifies with JWT_PUBLIC_KEY_FILE. JWT_AUDIENCE / JWT_ISSUER are
 * put into the token when configured (override with --aud / --iss). Prints the token alone on stdout.
 */
import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import { API_SCOPES, isApiScope } from '../src/api/scopes';
import { ConfigError, loadConfig } from '../src/config';

const USAGE = `usage: npm run token -- --sub <subject> --scope <scope[,scope...]> [--ttl 1h] [--private-key key.pem] [--aud x] [--iss y]
  scopes: ${API_SCOPES.join(' ')}
  ttl:    seconds, or a number with s, m, h or d (default 1h; at most 365d)`;

interface Args {
  sub?: string;
  scopes: string[];
  ttl: string;
  privateKey?: string;
  aud?: string;
  iss?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { scopes: [], ttl: '1h' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') throw new UsageError('');
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    i++;
    switch (flag) {
      case '--sub':
        args.sub = value;
        break;
      case '--scope':
        args.scopes.push(...value.split(/[,\s]+/).filter((s) => s !== ''));
        break;
      case '--ttl':
        args.ttl = value;
        break;
      case '--private-key':
        args.privateKey = value;
        break;
      case '--aud':
        args.aud = value;
        break;
      case '--iss':
        args.iss = value;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return args;
}

class UsageError extends Error {}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `30s`, `15m`, `1h`, `7d` -> seconds. */
function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) throw new UsageError(`--ttl: "${text}" is not a duration (90, 30s, 15m, 1h, 7d)`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] === '' ? 's' : m[2]];
  if (seconds < 1 || seconds > 365 * 86_400) throw new UsageError('--ttl: must be between 1 s and 365 d');
  return seconds;
}

function main(): number {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args.sub === undefined || args.sub === '') throw new UsageError('--sub is required');
    if (args.scopes.length === 0) throw new UsageError('--scope is required');
    const unknown = args.scopes.filter((s) => !isApiScope(s));
    if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}`);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `${err.message}\n` : ''}${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let ttl: number;
  try {
    ttl = parseTtl(args.ttl);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const claims = { sub: args.sub, scope: [...new Set(args.scopes)].join(' '), jti: randomUUID() };
  const options: jwt.SignOptions = { expiresIn: ttl };
  const aud = args.aud ?? config.api.jwtAudience;
  const iss = args.iss ?? config.api.jwtIssuer;
  if (aud !== undefined) options.audience = aud;
  if (iss !== undefined) options.issuer = iss;
  let token: string;
  if (args.privateKey !== undefined) {
    const key = createPrivateKey(readFileSync(args.privateKey));
    if (key.asymmetricKeyType === 'rsa') options.algorithm = 'RS256';
    else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') options.algorithm = 'ES256';
    else {
      process.stderr.write('--private-key must be an RSA (RS256) or EC P-256 (ES256) private key\n');
      return 2;
    }
    token = jwt.sign(claims, key, options);
  } else {
    if (config.api.jwtSecretKey === undefined) {
      process.stderr.write('JWT_SECRET_KEY is not set (or pass --private-key for RS256/ES256)\n');
      return 2;
    }
    options.algorithm = 'HS256';
    token = jwt.sign(claims, config.api.jwtSecretKey, options);
  }
  process.stdout.write(`${token}\n`);
  return 0;
}

process.exitCode = main();
