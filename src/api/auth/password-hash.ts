/**
 * The UI password as a slow hash (issue 15): scrypt from node:crypto (no native module to package
 * for Windows), stored in the setting `ui_password_hash` as
 * `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`. Verification is constant-time.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../../errors.js';

/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB and 50-100 ms per attempt). */
const LOG_N = 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{32,128})$/;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number, bytes: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, bytes, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hash `password` (1-1024 characters) for the setting `ui_password_hash`. Throws AppError
 * INVALID_INPUT for an empty or too long password.
 */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < 1 || password.length > 1024)
    throw new AppError('INVALID_INPUT', 'the UI password must be 1 to 1024 characters');
  const salt = randomBytes(16);
  const key = await derive(password, salt, LOG_N, R, P, KEY_BYTES);
  return `scrypt$${LOG_N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `stored` has the format of hashPassword's output (cost within sane bounds). */
export function isPasswordHash(stored: string): boolean {
  const m = FORMAT.exec(stored);
  return (
    m !== null &&
    Number(m[1]) >= 10 &&
    Number(m[1]) <= 20 &&
    Number(m[2]) >= 1 &&
    Number(m[2]) <= 32 &&
    Number(m[3]) >= 1 &&
    Number(m[3]) <= 16
  );
}

/**
 * True when `password` matches `stored` (constant-time comparison of the derived keys). A
 * malformed or empty `stored` never matches (false, no error), so a broken setting locks the UI
 * password out rather than opening it.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  if (!stored || !isPasswordHash(stored) || password.length > 1024) return false;
  const m = FORMAT.exec(stored) as RegExpExecArray;
  const expected = Buffer.from(m[5] as string, 'base64url');
  const key = await derive(
    password,
    Buffer.from(m[4] as string, 'base64url'),
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    expected.length,
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}
