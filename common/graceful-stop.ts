/**
 * SIGTERM/SIGINT handling shared by the process entry points: the first signal runs `stop`
 * once (draining requests or activities); a stop that hangs past `limitMs` exits with 1, so an
 * orchestrator's kill never finds a process stuck half-stopped. A process that `npm start`
 * supervises (over an IPC channel) also stops when that channel closes: the supervisor died.
 */
import type { Logger } from './logger';

export function onStopSignal(options: { logger: Logger; limitMs: number; message: string; stop: () => Promise<void> }): void {
  let stopping = false;
  const handle = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, options.message);
    setTimeout(() => {
      options.logger.error({ limitMs: options.limitMs }, 'did not stop in time; exiting');
      process.exit(1);
    }, options.limitMs).unref();
    await options.stop();
  };
  process.once('SIGTERM', () => void handle('SIGTERM'));
  process.once('SIGINT', () => void handle('SIGINT'));
  if (process.connected) process.once('disconnect', () => void handle('supervisor gone'));
}

/** Tells the supervising `npm start` (if any) that this process is ready, and where it serves. */
export function notifySupervisor(message: { ready: true; url?: string }): void {
  if (!process.connected) return;
  process.send?.(message);
  // The channel must not keep a stopped process alive; 'disconnect' is still delivered.
  process.channel?.unref();
}
