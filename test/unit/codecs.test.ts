import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressSync as snappyBlock } from 'snappy';
import { describe, expect, it } from 'vitest';
import {
  BYTE_CODECS,
  kafkajsCompression,
  registerCodecs,
  snappyDecompress,
  UndecodableBatchError,
  undecodableCause,
} from '../../src/stream/codecs.js';
import type { CodecName } from '../../src/stream/codecs.js';

const records = Buffer.from(
  Array.from({ length: 500 }, (_, i) => `{"type":"member.added","chatId":"c${i % 7}","userId":"u${i}"}`).join(''),
);

describe('codecs', () => {
  it.each(Object.keys(BYTE_CODECS) as CodecName[])('%s round-trips and shrinks a batch', async (name) => {
    const packed = await BYTE_CODECS[name].compress(records);
    expect(packed.length).toBeLessThan(records.length / 3);
    expect((await BYTE_CODECS[name].decompress(packed)).equals(records)).toBe(true);
  });

  it('reads snappy in the xerial framing Java clients write, block by block', async () => {
    const parts = [records.subarray(0, 10_000), records.subarray(10_000)];
    const header = Buffer.concat([
      Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]),
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]),
    ]);
    const blocks = parts.flatMap((p) => {
      const block = snappyBlock(p);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(block.length);
      return [len, block];
    });
    const framed = Buffer.concat([header, ...blocks]);
    expect((await snappyDecompress(framed)).equals(records)).toBe(true);
    await expect(snappyDecompress(framed.subarray(0, framed.length - 5))).rejects.toThrow(/runs past the end/);
  });

  it('registers all four in kafkajs, and a corrupt batch fails as undecodable, naming the codec', async () => {
    registerCodecs();
    for (const [type, name] of [
      [CompressionTypes.LZ4, 'lz4'],
      [CompressionTypes.ZSTD, 'zstd'],
      [CompressionTypes.Snappy, 'snappy'],
      [CompressionTypes.GZIP, 'gzip'],
    ] as const) {
      const codec = CompressionCodecs[type]();
      const packed = await codec.compress({ buffer: records } as never);
      expect((await codec.decompress(packed)).equals(records)).toBe(true);
      // Truncated, as a batch cut short on disk is (raw snappy has no checksum of its own, so
      // overwritten bytes may decode to other bytes: the batch CRC is what catches those).
      const corrupt = packed.subarray(0, Math.floor(packed.length / 2));
      const err = await codec.decompress(corrupt).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UndecodableBatchError);
      expect((err as UndecodableBatchError).codec).toBe(name);
      expect((err as Error).message).toMatch(new RegExp(`^a ${name} record batch cannot be decoded: `));
    }
  });

  it('recognises an undecodable batch behind the errors kafkajs wraps it in, and nothing else', () => {
    const ours = new UndecodableBatchError('zstd', 'Unknown frame descriptor');
    const rewrapped = Object.assign(new Error(ours.message), { name: 'KafkaJSNonRetriableError' });
    expect(undecodableCause(rewrapped)).toEqual({
      codec: 'zstd',
      message: 'a zstd record batch cannot be decoded: Unknown frame descriptor',
    });
    const nested = Object.assign(new Error('retries exceeded'), {
      originalError: Object.assign(new Error('LZ4 compression not implemented'), { name: 'KafkaJSNotImplemented' }),
    });
    expect(undecodableCause(nested)?.codec).toBe('lz4');
    expect(undecodableCause(new Error('The group coordinator is not available'))).toBeNull();
  });

  it('maps KAFKA_OUTPUT_COMPRESSION values to kafkajs types', () => {
    expect(['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((n) => kafkajsCompression(n as never))).toEqual([
      CompressionTypes.None,
      CompressionTypes.GZIP,
      CompressionTypes.Snappy,
      CompressionTypes.LZ4,
      CompressionTypes.ZSTD,
    ]);
  });
});
