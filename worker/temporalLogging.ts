import { DefaultLogger, LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../common/logger';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's and core's logs through pino, so every event is one JSON line with its ids. The SDK puts a
 * failed activity's Error under `error`; the logger serializes errors under any key (common/logger.ts).
 */
export function installTemporalLogging(logger: Logger, level: LogLevel = 'INFO'): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      logger[levels[entry.level]]({ source: 'temporal', ...entry.meta }, entry.message);
    }),
  });
}
