import { Readable } from 'node:stream';

/** Objects up to this size are read whole and checked before any destination sees a byte, then sent in one request. */
export const WHOLE_OBJECT_MAX_BYTES = 1024 * 1024;

/** Reads up to `max` bytes: the whole body if it ends by then, else a stream of all of it, read bytes first. */
export async function readHead(
  body: AsyncIterable<Buffer>,
  max: number,
): Promise<{ whole: Buffer; rest?: never } | { whole?: never; rest: Readable }> {
  const chunks: Buffer[] = [];
  let read = 0;
  const reader = body[Symbol.asyncIterator]();
  for (let next = await reader.next(); !next.done; next = await reader.next()) {
    chunks.push(next.value);
    read += next.value.length;
    if (read > max) {
      const remaining = { [Symbol.asyncIterator]: () => reader };
      return {
        rest: Readable.from(
          (async function* () {
            yield* chunks;
            yield* remaining;
          })(),
        ),
      };
    }
  }
  return { whole: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, read) };
}
