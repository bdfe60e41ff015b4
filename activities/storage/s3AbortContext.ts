import type { S3ClientConfig, S3ExtensionConfiguration } from '@aws-sdk/client-s3';
import { AsyncLocalStorage } from 'node:async_hooks';

type HttpHandler = ReturnType<S3ExtensionConfiguration['httpHandler']>;

/** The abort signal of the S3 call in progress, carried to the request handler in async context. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Lets `abortedBy` abort requests without giving send() an options argument: the SDK reuses a command's
 * middleware chain (`cacheMiddleware`) only for calls without options, and building it again costs about
 * 0.15 ms per request, a quarter of a small object's PUT. The request handler takes the call's signal from
 * async context instead. One difference with the option: the SDK's wait between its own retries does not
 * end on the abort, but the retry's request then fails at once, before it sends a byte.
 */
export const abortFromContext: NonNullable<S3ClientConfig['extensions']>[number] = {
  configure(config: S3ExtensionConfiguration) {
    const inner: HttpHandler = config.httpHandler();
    const handler: HttpHandler = {
      handle: (request, options) => inner.handle(request, { ...options, abortSignal: options?.abortSignal ?? callSignal.getStore() }),
      updateHttpClientConfig: (key, value) => inner.updateHttpClientConfig(key, value),
      httpHandlerConfigs: () => inner.httpHandlerConfigs(),
      destroy: () => inner.destroy?.(),
    };
    config.setHttpHandler(handler);
  },
};

/** Runs `send` (a call of a client built with `abortFromContext`, without options) so that `signal` aborts its requests. */
export function abortedBy<T>(signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
  return signal ? callSignal.run(signal, send) : send();
}
