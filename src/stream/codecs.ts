/**
 * Every codec Kafka writes record batches with, registered in kafkajs (which ships only gzip).
 *
 * - gzip: kafkajs's own (Node's zlib).
 * - snappy: `snappy` (napi-rs bindings of the Rust snap crate; prebuilt binaries arrive as
 *   optional dependencies from the registry). Java clients frame snappy the xerial way
 *   (snappy-java's SnappyOutputStream: a magic header, then length-prefixed blocks), which the
 *   library does not parse, so the framing is read here; a raw block (librdkafka, kafkajs) too.
 * - lz4: `lz4-napi` (napi-rs bindings of lz4_flex), the LZ4 frame format Kafka uses from magic 1.
 * - zstd: Node's own zlib (zstd landed in Node 22.15/23.8; pairguard needs Node 24).
 *
 * A batch that cannot be decoded is never skipped here: decompression fails with an
 * {@link UndecodableBatchError}, kafkajs's fetch fails, and the monitor holds that consumer
 * where it is and says so (see monitor.ts); nothing after the batch is judged out of order.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { CompressionTypes as CompressionType } from 'kafkajs';
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';
import type { OutputCompression } from '../config.js';
import { PairguardError } from '../errors.js';

// kafkajs is CommonJS, and Node's ESM loader finds neither of these among its named exports (tsx
// and vitest do, so only the compiled package failed): they are read off the module object.
const { CompressionCodecs, CompressionTypes } = kafkajs;
type CompressionTypes = CompressionType;

/** Codec names as Kafka's `compression.type` spells them. */
export type CodecName = 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** A record batch whose compressed records could not be decompressed. */
export class UndecodableBatchError extends PairguardError {
  constructor(
    readonly codec: CodecName,
    reason: string,
    cause?: unknown,
  ) {
    super('BATCH_UNDECODABLE', `a ${codec} record batch cannot be decoded: ${reason}`, { cause, retriable: false });
    this.name = 'UndecodableBatchError';
  }
}

const UNDECODABLE = /^a (gzip|snappy|lz4|zstd) record batch cannot be decoded: /;

/**
 * Why a consumer stopped, when it stopped at a batch it cannot decode: one of our codecs failed
 * (kafkajs rewraps the error, keeping only its message), or kafkajs met a codec nobody
 * registered ("LZ4 compression not implemented"). Null for any other reason.
 */
export function undecodableCause(error: Error): { codec: string; message: string } | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    const ours = UNDECODABLE.exec(e.message);
    if (ours) return { codec: ours[1]!, message: e.message };
    const unregistered = /^(\w+) compression not implemented/i.exec(e.message);
    if (unregistered) return { codec: unregistered[1]!.toLowerCase(), message: e.message };
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return null;
}

/** The byte-level codecs; kafkajs hands `compress` an encoder and `decompress` the batch's records. */
export interface ByteCodec {
  compress(data: Buffer): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);
const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.unzip);

/** snappy-java's stream header: 0x82 "SNAPPY" 0x00, then a version and a compatible version (int32 each). */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

/** Decodes xerial framing (Java clients) or a raw snappy block (everyone else). */
export async function snappyDecompress(data: Buffer): Promise<Buffer> {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappyUncompress(data) as Promise<Buffer>;
  }
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < data.length) {
    if (at + 4 > data.length) throw new Error(`xerial snappy frame truncated at byte ${at} of ${data.length}`);
    const size = data.readUInt32BE(at);
    at += 4;
    if (at + size > data.length)
      throw new Error(`xerial snappy block of ${size} bytes runs past the end (${data.length - at} left)`);
    blocks.push((await snappyUncompress(data.subarray(at, at + size))) as Buffer);
    at += size;
  }
  return Buffer.concat(blocks);
}

export const BYTE_CODECS: Readonly<Record<CodecName, ByteCodec>> = {
  gzip: { compress: (d) => gzip(d), decompress: (d) => gunzip(d) },
  snappy: { compress: (d) => snappyCompress(d), decompress: snappyDecompress },
  lz4: { compress: (d) => compressFrame(d), decompress: (d) => decompressFrame(d) },
  zstd: { compress: (d) => zstdCompress(d), decompress: (d) => zstdDecompress(d) },
};

const KAFKAJS_TYPES: Readonly<Record<CodecName, number>> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

function kafkajsCodec(name: CodecName, codec: ByteCodec) {
  return {
    compress: (encoder: { buffer: Buffer }) => codec.compress(encoder.buffer),
    async decompress(data: Buffer): Promise<Buffer> {
      try {
        return await codec.decompress(data);
      } catch (err) {
        throw new UndecodableBatchError(name, (err as Error).message, err);
      }
    },
  };
}

let registered = false;

/**
 * Registers the four codecs in kafkajs's process-wide table. Idempotent; every place that builds
 * a kafkajs client calls it (stream/kafka-client.ts, the testing module).
 */
export function registerCodecs(): void {
  if (registered) return;
  for (const name of Object.keys(BYTE_CODECS) as CodecName[]) {
    const codec = kafkajsCodec(name, BYTE_CODECS[name]);
    CompressionCodecs[KAFKAJS_TYPES[name] as keyof typeof CompressionCodecs] = () => codec;
  }
  registered = true;
}

/** kafkajs's `compression` option for a KAFKA_OUTPUT_COMPRESSION value. */
export function kafkajsCompression(name: OutputCompression): CompressionTypes {
  return name === 'none' ? CompressionTypes.None : (KAFKAJS_TYPES[name] as CompressionTypes);
}
