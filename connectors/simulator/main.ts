/**
 * Runs the fleet simulator against a running ingest process (see `make run`). It starts the
 * LoRaWAN network-server emulator the `lns` connector connects to, registers what the fleet needs
 * (an ingest token, wireless meters' keys), waits until the ingest process reports healthy, then
 * sends. The ledger (sent / acknowledged / refused / resent per transport) is printed every 10 s
 * and written to `SIM_LEDGER_FILE` for reconciliation.
 *
 * Variables (besides the common ones): SIM_DEVICES_PER_KIND (default 8), SIM_STATIONS (3),
 * SIM_INTERVAL_MIN (15), SIM_BACKFILL_HOURS (24), SIM_SPEED (3600), SIM_SEED (1),
 * SIM_LNS_PORT (8090), SIM_WAIT_FOR (the ingest health URL), SIM_LEDGER_FILE.
 */
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import { errorMessage } from '../../core/errors.js';
import { startLnsEmulator } from '../lns/emulator.js';
import { bootstrapRegistry } from './bootstrap.js';
import { createSimulator } from './simulator.js';

const env = process.env;
const number = (name: string, fallback: number): number => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number, got "${env[name]}"`);
  return value;
};

async function waitForHealthy(url: string): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main(): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.log.level, name: 'simulator' });
  const perKind = number('SIM_DEVICES_PER_KIND', 8);
  const lns = await startLnsEmulator({ port: number('SIM_LNS_PORT', 8090), users: { [config.lns.login ?? 'sim']: config.lns.password ?? 'sim' } });
  const simulator = createSimulator({
    mix: {
      'mbus-tcp': perKind, 'wmbus-mqtt': perKind, 'chirpstack-mqtt': perKind, 'lns-websocket': perKind, http: perKind,
      'station-mqtt': number('SIM_STATIONS', 3),
    },
    seed: number('SIM_SEED', 1),
    intervalMs: number('SIM_INTERVAL_MIN', 15) * 60_000,
    backfillMs: number('SIM_BACKFILL_HOURS', 24) * 3_600_000,
    speed: number('SIM_SPEED', 3600),
    targets: { mqttUrl: config.mqtt.url, tcp: { host: '127.0.0.1', port: config.ingest.tcpPort }, lns },
    logger,
  });
  const token = await bootstrapRegistry(config.postgres.url, config.deviceKeys.encryptionKey, simulator.devices);

  const waitFor = env['SIM_WAIT_FOR'];
  if (waitFor) {
    process.stdout.write(`[sim] waiting for the ingest process at ${waitFor}\n`);
    await waitForHealthy(waitFor);
  }
  await simulator.start({ http: { baseUrl: `http://127.0.0.1:${config.ingest.httpPort}`, token } });
  process.stdout.write(`[sim] ${simulator.devices.length} devices sending; LNS emulator at ${lns.url}\n`);

  const ledgerFile = env['SIM_LEDGER_FILE'];
  const report = setInterval(() => {
    const line = Object.entries(simulator.ledger)
      .map(([transport, c]) => `${transport} ${c.acknowledged}/${c.sent}${c.refused ? ` refused ${c.refused}` : ''}${c.resent ? ` resent ${c.resent}` : ''}`)
      .join(' · ');
    process.stdout.write(`[sim] ${new Date(simulator.clockMs()).toISOString()} acknowledged/sent: ${line}\n`);
    if (ledgerFile) void writeFile(ledgerFile, JSON.stringify(simulator.ledger, null, 2));
  }, 10_000);

  const stop = async () => {
    clearInterval(report);
    await simulator.stop();
    if (ledgerFile) await writeFile(ledgerFile, JSON.stringify(simulator.ledger, null, 2));
    await lns.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
