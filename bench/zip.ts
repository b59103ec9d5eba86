/**
 * Reading the packaged zips (test/support/zip.ts) and writing the floor's zip
 * the way serverless-esbuild writes ours (archiver): deflated entries, streamed
 * with data descriptors, dated 1980-01-01. The deflate level is not configurable in
 * serverless.yml, so it is detected from the packaged artifact itself (the
 * level whose raw deflate of our bundle has exactly the packaged entry's
 * compressed size), and the floor is compressed at that level.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { readZip } from '../test/support/zip.ts';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  size: number;
  compressedSize: number;
}

/** Entries of a zip. */
export function listZip(file: string): ZipEntry[] {
  return readZip(readFileSync(file)).map(({ name, method, data, compressedSize }) => ({ name, method, size: data.length, compressedSize }));
}

export function extractZip(file: string, dir: string): void {
  for (const { name, data } of readZip(readFileSync(file))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
}

/** The zlib level (0-9) whose raw deflate of `data` is `compressedSize` bytes; the closest if none is exact. */
export function detectDeflateLevel(data: Buffer, compressedSize: number): { level: number; exact: boolean } {
  let best = { level: 6, diff: Infinity };
  for (let level = 1; level <= 9; level++) {
    const diff = Math.abs(deflateRawSync(data, { level }).length - compressedSize);
    if (diff < best.diff) best = { level, diff };
    if (diff === 0) break;
  }
  return { level: best.level, exact: best.diff === 0 };
}

/** A zip laid out as archiver (serverless-esbuild's nodeZip) writes one: entries in order, each streamed with a data descriptor. */
export function zipFiles(files: readonly { name: string; data: Buffer }[], level: number): Buffer {
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  const FLAGS = 0x0008 | 0x0800; // data descriptor, UTF-8 names
  const parts: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of files) {
    const fileName = Buffer.from(name, 'utf8');
    const deflated = deflateRawSync(data, { level });
    const crc = crc32(data) >>> 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    // crc and sizes follow in the data descriptor
    local.writeUInt16LE(fileName.length, 26);

    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    descriptor.writeUInt32LE(deflated.length, 8);
    descriptor.writeUInt32LE(data.length, 12);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(FLAGS, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);

    parts.push(local, fileName, deflated, descriptor);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + deflated.length + descriptor.length;
  }
  const centralSize = centrals.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...centrals, end]);
}
