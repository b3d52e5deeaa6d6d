/**
 * The ingest log stores one row per batch: the batch's messages framed in one byte buffer. One
 * insert per batch instead of one row per message, and the buffer is transferred to the commit
 * worker rather than cloned field by field (and handed back for later batches once stored). Each
 * message is, little-endian:
 *
 *   u8 kind (1 text, 0 bytes) · f64 receivedAt · u32 n + n bytes source (UTF-8)
 *   · u32 n + n bytes channel (UTF-8) · u32 n + n bytes payload (UTF-8 text, or the bytes)
 *
 * Text stays text and bytes stay bytes on the way back, as for a row per message.
 * @module
 */
import type { RawMessage } from '../../../core/model/messages.js';

const HEADER = 1 + 8 + 4 * 3;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;

/** Batches up to this bound are framed in buffers kept for reuse; larger ones get a buffer of their own, of their exact size. */
const REUSED_MAX = 8 << 20;

/**
 * Buffers whose frames have been stored, kept for the next batches: each batch framed in fresh
 * memory cost more than the framing itself (a new ArrayBuffer is zeroed and its pages faulted in,
 * and one transferred to the commit worker is freed only by that thread's garbage collection).
 */
const spare: ArrayBuffer[] = [];
let spareBytes = 0;
/** Bytes kept in spare buffers at most: a burst of large batches does not stay in memory. */
const SPARE_MAX_BYTES = 16 << 20;
/** Size of a new spare buffer, unless a batch needs more (its bound is at most REUSED_MAX). */
const SPARE_SIZE = 1 << 20;

/**
 * The messages framed at the start of a buffer given back earlier with {@link recycleLogBuffer}
 * (a new one when none is large enough; a batch over `REUSED_MAX` gets one of its exact size): a
 * view of the frame, whose ArrayBuffer belongs to this batch alone until it is given back, so it
 * can be transferred to the commit worker.
 */
export function encodeLogBatch(messages: readonly RawMessage[]): Uint8Array {
  const bound = frameBound(messages);
  if (bound > REUSED_MAX) return encodeExactly(messages);
  let buffer = spare.pop();
  // One too small for this batch is let go: the spares grow to what batches need.
  while (buffer !== undefined && buffer.byteLength < bound) {
    spareBytes -= buffer.byteLength;
    buffer = spare.pop();
  }
  if (buffer === undefined) buffer = new ArrayBuffer(Math.max(bound, SPARE_SIZE));
  else spareBytes -= buffer.byteLength;
  return new Uint8Array(buffer, 0, frameInto(Buffer.from(buffer), messages));
}

/** Gives back the buffer of a frame from {@link encodeLogBatch} once it is stored: nothing may read it afterwards. */
export function recycleLogBuffer(buffer: ArrayBuffer): void {
  if (buffer.byteLength < SPARE_SIZE || spareBytes + buffer.byteLength > SPARE_MAX_BYTES) return;
  spare.push(buffer);
  spareBytes += buffer.byteLength;
}

/** An upper bound of a frame's size, so nothing is measured twice: each string is encoded once, straight into place. */
function frameBound(messages: readonly RawMessage[]): number {
  let bound = 0;
  for (const m of messages) {
    const p = m.payload;
    bound += HEADER + (m.source.length + m.channel.length + (typeof p === 'string' ? p.length : 0)) * MAX_UTF8_PER_UNIT + (typeof p === 'string' ? 0 : p.byteLength);
  }
  return bound;
}

/** Large payloads: measured exactly rather than three bytes reserved per character, and nothing kept. */
function encodeExactly(messages: readonly RawMessage[]): Uint8Array {
  let size = 0;
  for (const m of messages) {
    const p = m.payload;
    size += HEADER + Buffer.byteLength(m.source) + Buffer.byteLength(m.channel) + (typeof p === 'string' ? Buffer.byteLength(p) : p.byteLength);
  }
  const buf = Buffer.from(new ArrayBuffer(size));
  frameInto(buf, messages);
  return new Uint8Array(buf.buffer, 0, size);
}

/** Frames the messages at the start of `buf` (large enough); returns the bytes used. */
function frameInto(buf: Buffer, messages: readonly RawMessage[]): number {
  let at = 0;
  // Consecutive messages mostly share source and channel: their bytes are copied, not re-encoded.
  let prevSource: string | undefined;
  let prevChannel: string | undefined;
  let sourceAt = 0;
  let channelAt = 0;
  const text = (s: string): void => {
    const n = buf.write(s, at + 4);
    buf.writeUInt32LE(n, at);
    at += 4 + n;
  };
  const again = (from: number): void => {
    const n = buf.readUInt32LE(from) + 4;
    buf.copyWithin(at, from, from + n);
    at += n;
  };
  for (const m of messages) {
    const p = m.payload;
    buf[at] = typeof p === 'string' ? 1 : 0;
    buf.writeDoubleLE(m.receivedAt, at + 1);
    at += 9;
    if (m.source === prevSource) again(sourceAt);
    else {
      sourceAt = at;
      prevSource = m.source;
      text(m.source);
    }
    if (m.channel === prevChannel) again(channelAt);
    else {
      channelAt = at;
      prevChannel = m.channel;
      text(m.channel);
    }
    if (typeof p === 'string') text(p);
    else {
      buf.writeUInt32LE(p.byteLength, at);
      buf.set(p, at + 4);
      at += 4 + p.byteLength;
    }
  }
  return at;
}

/** The messages of one framed batch, in order; throws on a truncated or malformed buffer. */
export function decodeLogBatch(data: Uint8Array, expected: number): RawMessage[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out: RawMessage[] = [];
  let at = 0;
  const field = (): [number, number] => {
    if (at + 4 > buf.length) throw new Error('ingest log batch is truncated');
    const n = buf.readUInt32LE(at);
    const start = at + 4;
    at = start + n;
    if (at > buf.length) throw new Error('ingest log batch is truncated');
    return [start, at];
  };
  while (at < buf.length) {
    if (at + 9 > buf.length) throw new Error('ingest log batch is truncated');
    const isText = buf[at] === 1;
    const receivedAt = buf.readDoubleLE(at + 1);
    at += 9;
    const [s0, s1] = field();
    const [c0, c1] = field();
    const [p0, p1] = field();
    out.push({
      source: buf.toString('utf8', s0, s1),
      channel: buf.toString('utf8', c0, c1),
      // A copy: the row's buffer is not kept alive by the message.
      payload: isText ? buf.toString('utf8', p0, p1) : new Uint8Array(buf.subarray(p0, p1)),
      receivedAt,
    });
  }
  if (out.length !== expected) throw new Error(`ingest log batch holds ${out.length} messages, its row says ${expected}`);
  return out;
}
