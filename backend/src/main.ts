/**
 * Entry point of `npm start`: reads the configuration from the environment, starts the server
 * (embedded PostgreSQL in the data directory unless DATABASE_URL is set), says where it listens and
 * where its data lives, and shuts down gracefully on SIGTERM / SIGINT.
 */
import { startApp } from './app';
import { loadConfig, redactUrl } from './config';
import { faultsFromEnv } from './faults';
import { createLogger } from './observability/logger';

async function main(): Promise<number> {
  // `npm start` runs this in backend/; INIT_CWD is where the user ran npm, which is what a relative
  // DATA_DIR should mean.
  const result = loadConfig(process.env, { cwd: process.env['INIT_CWD'] ?? process.cwd() });
  if (!result.ok) {
    console.error('Invalid configuration:');
    for (const error of result.errors) console.error(`  - ${error}`);
    return 1;
  }
  const { config } = result;
  const logger = createLogger();
  const faults = faultsFromEnv(process.env);
  if (faults) logger.warn({ faults: Object.keys(faults) }, 'FAULT INJECTION ENABLED (COLLAB_FAULTS=1): for tests only');
  const app = await startApp({ config, logger, ...(faults ? { faults } : {}) });
  const data = config.databaseUrl ? redactUrl(config.databaseUrl) : app.database.description;
  console.log(`Collab server listening on ${app.url}`);
  console.log(`  data:     ${data}`);
  console.log(`  fan-out:  ${config.redisUrl ? redactUrl(config.redisUrl) : 'in-process (single node)'}`);
  console.log(`  health:   ${app.url}/healthz   ready: ${app.url}/readyz   metrics: ${app.url}/metrics`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing in-flight commits');
      app
        .close()
        .then(() => {
          logger.info('stopped');
          resolve();
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error('Collab server failed to start:', err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
