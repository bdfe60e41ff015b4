import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { CorruptDownloadError, HashingVerifier } from '../activities/transfer/hashingVerifier';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const chunks = [Buffer.from('first chunk, '), Buffer.from('second chunk, '), Buffer.from('last chunk')];
const whole = Buffer.concat(chunks);

/** Writes the chunks one by one and returns what came out before the input ended. */
async function passedBeforeEnd(verifier: HashingVerifier): Promise<{ before: Buffer; out: Buffer[] }> {
  const out: Buffer[] = [];
  verifier.on('data', (c: Buffer) => out.push(c));
  verifier.on('error', () => undefined);
  for (const c of chunks) verifier.write(c);
  await new Promise((r) => setImmediate(r));
  return { before: Buffer.concat(out), out };
}

test('the last chunk is passed on only after the bytes are checked against Drive', async () => {
  const verifier = new HashingVerifier({ md5: md5(whole), size: whole.length });
  const { before, out } = await passedBeforeEnd(verifier);
  assert.equal(before.toString(), 'first chunk, second chunk, ', 'every byte but the last chunk');
  verifier.end();
  const result = await verifier.result;
  await new Promise((r) => verifier.once('end', r));
  assert.equal(Buffer.concat(out).toString(), whole.toString());
  assert.deepEqual(result, { md5: md5(whole), sha256: createHash('sha256').update(whole).digest('hex'), size: whole.length });
});

test('bytes that differ from Drive never let the last chunk through', async () => {
  const verifier = new HashingVerifier({ md5: md5(Buffer.from('something else')), size: whole.length });
  const { out } = await passedBeforeEnd(verifier);
  verifier.end();
  await assert.rejects(verifier.result, CorruptDownloadError);
  assert.equal(Buffer.concat(out).toString(), 'first chunk, second chunk, ');
});

test('a body longer than Drive says fails before the extra bytes are passed on', async () => {
  const verifier = new HashingVerifier({ size: chunks[0].length + 3 });
  const { out } = await passedBeforeEnd(verifier);
  await assert.rejects(verifier.result, /more than the 16 bytes Drive says/);
  assert.equal(Buffer.concat(out).length, 0, 'not even the first chunk, which was still held back');
});

test("bytes whose SHA-256 differs from Drive's are rejected, even when Drive gives no MD5", async () => {
  const sha256 = createHash('sha256').update('something else').digest('hex');
  const verifier = new HashingVerifier({ sha256, size: whole.length });
  const { out } = await passedBeforeEnd(verifier);
  verifier.end();
  await assert.rejects(verifier.result, /SHA-256 [0-9a-f]{64} differs from Drive's/);
  assert.equal(Buffer.concat(out).toString(), 'first chunk, second chunk, ', 'the last chunk is never passed on');
});
