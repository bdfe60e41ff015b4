import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { Destination, UploadRequest, UploadResult, VerifiedContent } from '../storage/destination';
import { type ExpectedContent, HashingVerifier, contentMismatch } from './hashingVerifier';

export interface FanOutResult {
  results: Array<{ destination: Destination; outcome: PromiseSettledResult<UploadResult> }>;
  /** The verified hashes, or the reason the download was rejected. */
  verified: PromiseSettledResult<VerifiedContent>;
}

/**
 * Streams one download into every destination at once. Backpressure is shared (the slowest destination
 * sets the pace; memory stays bounded), a destination that fails is dropped without stopping the others,
 * and a download that fails verification fails every upload before it completes.
 */
export async function fanOut(
  source: Readable,
  expected: ExpectedContent,
  destinations: Destination[],
  requestFor: (destination: Destination) => Omit<UploadRequest, 'body' | 'verified'>,
): Promise<FanOutResult> {
  const verifier = new HashingVerifier(expected);
  const branches = destinations.map(() => new PassThrough({ highWaterMark: 1024 * 1024 }));
  // A branch's error reaches its upload, which rejects; the event itself needs no other listener.
  for (const branch of branches) branch.on('error', () => undefined);
  source.on('error', (err) => verifier.destroy(err));
  verifier.on('error', (err) => {
    for (const b of branches) b.destroy(err);
  });
  source.pipe(verifier);
  for (const branch of branches) verifier.pipe(branch);

  const uploads = destinations.map((destination, i) =>
    destination.upload({ ...requestFor(destination), body: branches[i], verified: verifier.result }).catch((err) => {
      // Unpipes this branch, so a dead destination cannot stall the live ones through backpressure.
      branches[i].destroy();
      throw err;
    }),
  );
  const settled = await Promise.allSettled(uploads);
  if (!source.readableEnded) source.destroy();
  const [verified] = await Promise.allSettled([verifier.result]);
  return { results: destinations.map((destination, i) => ({ destination, outcome: settled[i] })), verified };
}

/**
 * Writes an object read whole into every destination, once its bytes are checked: no destination sees a
 * byte of a corrupted download. A small file costs no stream per destination this way.
 */
export async function fanOutWhole(
  bytes: Buffer,
  expected: ExpectedContent,
  destinations: Destination[],
  requestFor: (destination: Destination) => Omit<UploadRequest, 'body' | 'verified'>,
): Promise<FanOutResult> {
  const read: VerifiedContent = {
    size: bytes.length,
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  const mismatch = contentMismatch(expected, read);
  if (mismatch) return { results: [], verified: { status: 'rejected', reason: mismatch } };
  const verified = Promise.resolve(read);
  const settled = await Promise.allSettled(destinations.map((d) => d.upload({ ...requestFor(d), body: bytes, verified })));
  return {
    results: destinations.map((destination, i) => ({ destination, outcome: settled[i] })),
    verified: { status: 'fulfilled', value: read },
  };
}
