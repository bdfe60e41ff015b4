import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '../../common/config';

/** A secret as the catalog keeps it: AES-256-GCM with a fresh 96-bit IV per write, and the tag that authenticates it. */
export interface SealedSecret {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;

/** The stored secret could not be opened: another key, or an altered row. */
export class SecretUnreadableError extends Error {}

/**
 * The token key from the environment variable `variable`: 32 bytes written as 64 hex digits or as base64 (what
 * `openssl rand -base64 32` prints). Anything else is refused, naming the variable and what it holds.
 */
export function tokenKeyFromEnv(variable: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const text = env[variable]?.trim();
  const how = `32 random bytes as base64 or 64 hex digits (openssl rand -base64 32)`;
  if (!text) {
    throw new ConfigError(`environment variable ${variable} is not set: it must hold the key that encrypts Google tokens, ${how}`);
  }
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
      ? Buffer.from(text, 'base64')
      : undefined;
  if (!key || key.length !== KEY_BYTES) {
    const size = key ? `${key.length} bytes` : 'characters that are neither hex nor base64';
    throw new ConfigError(`environment variable ${variable} holds ${size}; the Google token key must be ${how}`);
  }
  return key;
}

/**
 * Encrypts `secret`. `context` (the account and client it belongs to) is authenticated with it, so a row copied onto
 * another account does not open.
 */
export function sealSecret(key: Buffer, secret: string, context: string): SealedSecret {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts what `sealSecret` wrote, or throws SecretUnreadableError: GCM's tag refuses a wrong key, never giving garbage. */
export function openSecret(key: Buffer, sealed: SealedSecret, context: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretUnreadableError('the key does not open it (another key, or the stored row was altered)');
  }
}
