import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';

/** Why encryptedData was refused. Logged; the client sees one DECRYPT_FAILED. */
export type DecryptFailure = 'BAD_SESSION_KEY' | 'BAD_IV' | 'BAD_CIPHERTEXT' | 'BAD_PADDING' | 'NOT_JSON' | 'NO_WATERMARK' | 'WRONG_APPID';

export class DecryptError extends Error {
  override readonly name = 'DecryptError';
  constructor(readonly reason: DecryptFailure) {
    super(`encryptedData refused: ${reason}`);
  }
}

export type UserData = Record<string, unknown> & { watermark: { appid: string; timestamp?: number } };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from silently skips junk, which would hide client bugs). */
function strictBase64(value: string, failure: DecryptFailure, length?: number): Buffer {
  if (!BASE64.test(value)) throw new DecryptError(failure);
  const bytes = Buffer.from(value, 'base64');
  if (length !== undefined && bytes.length !== length) throw new DecryptError(failure);
  return bytes;
}

/**
 * WeChat's open-data decryption (WXBizDataCrypt): AES-128-CBC, key = session_key,
 * PKCS#7 padding checked byte by byte, JSON payload whose watermark.appid must be ours.
 * The watermark timestamp is deliberately not checked (see README).
 */
export function decryptUserData(encryptedData: string, iv: string, sessionKey: string, appId: string): UserData {
  const key = strictBase64(sessionKey, 'BAD_SESSION_KEY', 16);
  const ivBytes = strictBase64(iv, 'BAD_IV', 16);
  const ciphertext = strictBase64(encryptedData, 'BAD_CIPHERTEXT');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) throw new DecryptError('BAD_CIPHERTEXT');

  const decipher = createDecipheriv('aes-128-cbc', key, ivBytes);
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);

  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 16 || padded.subarray(padded.length - pad).some((byte) => byte !== pad)) {
    throw new DecryptError('BAD_PADDING');
  }

  let data: unknown;
  try {
    data = JSON.parse(padded.subarray(0, padded.length - pad).toString('utf8'));
  } catch {
    throw new DecryptError('NOT_JSON');
  }
  if (!isRecord(data) || !isRecord(data.watermark) || typeof data.watermark.appid !== 'string') {
    throw new DecryptError('NO_WATERMARK');
  }
  if (data.watermark.appid !== appId) throw new DecryptError('WRONG_APPID');
  return data as UserData;
}

const SIGNATURE = /^[0-9a-f]{40}$/i;

/** rawData's signature: sha1(rawData + session_key), compared in constant time. */
export function isRawDataSignatureValid(rawData: string, signature: string, sessionKey: string): boolean {
  if (!SIGNATURE.test(signature)) return false;
  const expected = createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
