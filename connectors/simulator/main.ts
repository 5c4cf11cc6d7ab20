/**
 * Runs the fleet simulator against a running ingest process (see `make run`). It starts the
 * LoRaWAN network-server emulator the `lns` connector connects to, registers what the fleet needs
 * (an ingest token, wireless meters' keys), waits until the ingest process reports healthy, then
 * sends. The ledger (sent / acknowledged / refused / resent per transport) is printed every 10 s
 * and written to `SIM_LEDGER_FILE` for reconciliation.
 *
 * Variables (besides the common ones): SIM_DEVICES_PER_KIND (default 8), SIM_STATIONS (3),
 * SIM_INTERVAL_MIN (15), SIM_BACKFILL_HOURS (24), SIM_SPEED (3600), SIM_SEED (1),
 * SIM_LNS_PORT (8090), SIM_WAIT_FOR (the ingest health URL), SIM_LEDGER_FILE, and:
 *
 * - SIM_MBUS_FRAMES: `libmbus` (default) — wired meters send frames captured from real meters,
 *   read from `MBUS_FIXTURES_DIR` (else `../shared/fixtures/libmbus`), with advancing counters; the
 *   simulator says so and falls back to `synthetic` when the fixtures are not there; `synthetic` —
 *   frames the simulator encodes itself.
 * - Faults (simulator.ts has what each does; all off by default): SIM_DUPLICATE_RATE,
 *   SIM_REORDER_RATE, SIM_GARBAGE_RATE (probabilities per message), SIM_DISCONNECT_RATE (per 100 ms
 *   tick), SIM_SILENCE=`<deviceId>:<seconds>[@<afterSeconds>]`,… (the device ids are printed at
 *   start). Each is counted in the ledger, beside what reconciliation compares.
 * - SIM_CLAIM_DEVICES=1 (what `make run` sets): the simulated organisation owns every device, on
 *   sites with coordinates, and an analyst token is printed with the API's explorer and wallboard
 *   addresses; otherwise devices register themselves as `new` and unclaimed.
 */
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import { errorMessage } from '../../core/errors.js';
import { startLnsEmulator } from '../lns/emulator.js';
import { bootstrapRegistry } from './bootstrap.js';
import { faultsFromEnv } from './env.js';
import { deviceIdOf } from './messages.js';
import { defaultFixturesDir, loadFrameTemplates, type FrameTemplate } from './real-frames.js';
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
  const faults = faultsFromEnv(env);
  const frames = env['SIM_MBUS_FRAMES'] ?? 'libmbus';
  if (frames !== 'libmbus' && frames !== 'synthetic') throw new TypeError(`SIM_MBUS_FRAMES must be libmbus or synthetic, got "${frames}"`);
  let frameTemplates: FrameTemplate[] | undefined;
  if (frames === 'libmbus') {
    try {
      frameTemplates = loadFrameTemplates(defaultFixturesDir(env));
      process.stdout.write(`[sim] wired meters send ${frameTemplates.length} real meters' frames (libmbus fixtures)\n`);
    } catch (err) {
      process.stdout.write(`[sim] ${errorMessage(err)}; wired meters send synthetic frames\n`);
    }
  }
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
    ...(frameTemplates === undefined ? {} : { frameTemplates }),
    faults,
    targets: { mqttUrl: config.mqtt.url, tcp: { host: '127.0.0.1', port: config.ingest.tcpPort }, lns },
    logger,
  });
  const tokens = await bootstrapRegistry(config.postgres.url, config.deviceKeys.encryptionKey, simulator.devices, {
    claim: env['SIM_CLAIM_DEVICES'] === '1',
  });
  if (tokens.analyst) {
    const api = `http://127.0.0.1:${config.api.port}`;
    process.stdout.write(`[sim] the simulated organisation's devices are claimed; an analyst token (read, write) for the API:\n`);
    process.stdout.write(`[sim]   explorer:  ${api}/explorer/#token=${tokens.analyst}\n`);
    process.stdout.write(`[sim]   wallboard: ${api}/wallboard/#token=${tokens.analyst}\n`);
  }

  const waitFor = env['SIM_WAIT_FOR'];
  if (waitFor) {
    process.stdout.write(`[sim] waiting for the ingest process at ${waitFor}\n`);
    await waitForHealthy(waitFor);
  }
  await simulator.start({ http: { baseUrl: `http://127.0.0.1:${config.ingest.httpPort}`, token: tokens.ingest } });
  process.stdout.write(`[sim] ${simulator.devices.length} devices sending; LNS emulator at ${lns.url}\n`);
  process.stdout.write(`[sim] device ids (for SIM_SILENCE): ${simulator.devices.map(deviceIdOf).join(' ')}\n`);

  const ledgerFile = env['SIM_LEDGER_FILE'];
  const report = setInterval(() => {
    const line = Object.entries(simulator.ledger)
      .map(([transport, c]) => {
        const extras = (['refused', 'resent', 'duplicates', 'reordered', 'garbage', 'disconnects', 'silenced'] as const)
          .filter((name) => c[name] > 0)
          .map((name) => ` ${name} ${c[name]}`)
          .join('');
        return `${transport} ${c.acknowledged}/${c.sent}${extras}`;
      })
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
