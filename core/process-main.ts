/**
 * The entry point every long-running process shares: load the configuration, log it once (secrets
 * redacted), check that its dependencies answer, serve `/metrics` and `/healthz` on `METRICS_PORT`,
 * start its components in order and stop them in reverse on SIGTERM or SIGINT.
 */
import { pathToFileURL } from 'node:url';
import type { Registry } from 'prom-client';
import { loadConfig, redactConfig, type Config } from './config.js';
import { errorMessage } from './errors.js';
import { Lifecycle, runUntilSignal, type Component } from './lifecycle.js';
import { createLogger, type Logger } from './log.js';
import { createMetricsRegistry, startMetricsServer, type MetricsServer } from './metrics.js';
import { checkServices, type ServiceName } from './preflight.js';

/** What a process brings to {@link runProcess}. */
export interface ProcessDefinition {
  /** The logger's name, e.g. `consumption`. */
  readonly name: string;
  /** The services checked before anything starts. */
  readonly needs: readonly ServiceName[];
  /** Builds the components, started in this order after the metrics server; nothing connects yet. */
  components(context: { readonly config: Config; readonly logger: Logger; readonly metrics: Registry }): readonly Component[];
}

/**
 * Runs a process until SIGTERM or SIGINT.
 *
 * @throws {ConfigError} for an invalid environment, {@link PreflightError} when a dependency does
 *   not answer, or the start or stop error of a component.
 */
export async function runProcess(definition: ProcessDefinition, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.log.level, name: definition.name });
  logger.info({ config: redactConfig(config) }, 'effective configuration');
  await checkServices(config, definition.needs);

  const metrics = createMetricsRegistry();
  const components = definition.components({ config, logger, metrics });
  let metricsServer: MetricsServer | undefined;
  const lifecycle: Lifecycle = new Lifecycle(
    [
      {
        name: 'metrics-server',
        async start() {
          metricsServer = await startMetricsServer({
            port: config.metrics.port,
            registry: metrics,
            logger,
            health: () => {
              const running = lifecycle.state === 'running';
              return { healthy: running, components: { lifecycle: { healthy: running, detail: lifecycle.state } } };
            },
          });
        },
        stop: async () => metricsServer?.close(),
      },
      ...components,
    ],
    { logger },
  );
  await runUntilSignal(lifecycle, { logger, graceMs: config.shutdown.graceMs });
}

/**
 * Calls `main` when the module at `moduleUrl` (its `import.meta.url`) is the script node was started
 * with, printing a failure as one line on stderr and exiting with 1.
 */
export function runIfEntryPoint(moduleUrl: string, main: () => Promise<void>): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().catch((err: unknown) => {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exit(1);
  });
}
