import { randomBytes } from 'node:crypto';

/** Tiny real images (1x1), and files that only pretend to be one. */
export const IMAGES = {
  png: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'),
  jpeg: Buffer.from(
    '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
    'base64',
  ),
  webp: Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64'),
  gif: Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'),
  html: Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>', 'utf8'),
};

/** A JPEG-looking file of exactly `size` bytes (the magic number, then noise). */
export const jpegOfSize = (size: number): Buffer =>
  Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(Math.max(0, size - 4))]).subarray(0, size);

export interface Part {
  name: string;
  /** A file part when set (wx.uploadFile names it after the temporary file). */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/**
 * A multipart/form-data body as wx.uploadFile builds it: the formData fields, then the file under `name`
 * (here `file`), with the temporary file's name and a content type the client guessed.
 */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----WeChatFormBoundary${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    const type = part.filename !== undefined ? `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`, 'utf8'));
    chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data, 'utf8'));
    chunks.push(Buffer.from('\r\n', 'utf8'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** wx.uploadFile({ filePath, name: 'file' }): one file part, named after a temporary file. */
export const uploadFileBody = (data: Buffer, filename = 'tmp_7f3a9c.jpg', contentType = 'image/jpeg') =>
  multipart([{ name: 'file', filename, contentType, data }]);
