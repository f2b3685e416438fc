/**
 * The Redis connection of the queue: `--redis URL`, else ANIMGS_REDIS_URL, else redis://127.0.0.1:6379. A server
 * that cannot be reached is one line naming the URL and what to do, after a short wait, not ioredis's endless
 * reconnect messages.
 */
import { Redis } from 'ioredis';
import { InputError } from '../io/errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisUrl(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.ANIMGS_REDIS_URL || DEFAULT_REDIS_URL;
}

/**
 * A connected client for BullMQ (which needs `maxRetriesPerRequest: null`: its blocking calls wait indefinitely).
 * Fails with an InputError when the server does not answer within `timeoutMs`.
 */
export async function connectRedis(url: string, timeoutMs = 3000): Promise<Redis> {
  let client: Redis;
  try {
    client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, enableOfflineQueue: true });
  } catch (e) {
    throw new InputError(`--redis ${url}: not a Redis URL (${(e as Error).message}); e.g. redis://host:6379`);
  }
  // ioredis logs every failed reconnect unless someone listens; the error reaches the user once, below
  let last = '';
  client.on('error', (e: Error) => (last = e.message));
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(last || `no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref(),
  );
  try {
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
  } catch (e) {
    client.disconnect();
    throw new InputError(
      `cannot connect to Redis at ${url} (${last || (e as Error).message}): start redis-server there, or pass ` +
        '--redis URL / set ANIMGS_REDIS_URL',
    );
  }
  return client;
}
