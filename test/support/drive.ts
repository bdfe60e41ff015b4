import type { drive_v3 } from 'googleapis';
import { createDriveClient, createOAuthClient } from '../../activities/drive/client';
import { type DriveFailure, driveFailureOf } from '../../activities/drive/errors';
import type { DrivePacer } from '../../activities/drive/pacer';
import { DriveEmulator } from '../drive-emulator/server';

export const emulatorOAuth = { clientId: 'test-client', clientSecret: 'test-secret', refreshToken: 'test-refresh-token' };

/** Starts an emulator and a googleapis Drive client that authenticates through its token endpoint. */
export async function startDrive(
  options: { accessTokenLifetimeSeconds?: number; pacer?: DrivePacer } = {},
): Promise<{ emulator: DriveEmulator; drive: drive_v3.Drive }> {
  const { pacer, ...emulatorOptions } = options;
  const emulator = await DriveEmulator.start({ oauth: emulatorOAuth, ...emulatorOptions });
  const auth = createOAuthClient({ ...emulatorOAuth, tokenUrl: `${emulator.baseUrl}token`, pacer });
  return { emulator, drive: createDriveClient(auth, emulator.baseUrl) };
}

/** The Drive failure of a googleapis call that must fail. */
export async function driveErrorOf(call: Promise<unknown>): Promise<DriveFailure> {
  try {
    await call;
  } catch (err) {
    const failure = driveFailureOf(err);
    if (!failure) throw err;
    return failure;
  }
  throw new Error('expected the Drive call to fail, but it succeeded');
}

export async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}
