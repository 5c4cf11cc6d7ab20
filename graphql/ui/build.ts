/**
 * Builds the pages the API serves — the GraphQL IDE (`/explorer`) and the live wallboard
 * (`/wallboard`) — from npm packages into `var/ui/` with esbuild: every script and style sheet is
 * bundled, so the pages work in networks without internet access (no CDN).
 *
 * `npx tsx graphql/ui/build.ts` (or {@link buildUi} from code). `make run` and `make test` run it
 * before starting the API; it takes a few seconds and is safe to repeat.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { errorMessage } from '../../core/errors.js';

/** Where the built pages go: `var/ui/` at the repository root. */
export const UI_DIR = fileURLToPath(new URL('../../var/ui/', import.meta.url));

const SOURCE_DIR = fileURLToPath(new URL('./', import.meta.url));

const EXPLORER_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>meterflux GraphQL explorer</title>
  <link rel="stylesheet" href="./explorer.css">
  <style>html, body, #explorer { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="explorer"></div>
  <script src="./explorer.js"></script>
</body>
</html>
`;

const WALLBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>meterflux wallboard</title>
  <style>
    :root { color-scheme: dark; font-family: system-ui, sans-serif; background: #10151c; color: #e6edf3; }
    body { margin: 0; display: grid; grid-template: auto 1fr / 3fr 2fr; height: 100vh; gap: 12px; padding: 12px; box-sizing: border-box; }
    header { grid-column: 1 / 3; display: flex; gap: 24px; align-items: center; }
    header h1 { font-size: 20px; margin: 0; }
    #status[data-live="true"] { color: #3fb950; } #status[data-live="false"] { color: #d29922; }
    section { background: #161b22; border-radius: 8px; padding: 12px; overflow: auto; }
    h2 { font-size: 15px; margin: 0 0 8px; color: #8b949e; }
    #map { width: 100%; height: 55vh; background: #0d1117; border-radius: 6px; }
    #map .meter { fill: #58a6ff; } #map .station { fill: #a371f7; } #map .alerting { fill: #f85149; }
    table { width: 100%; border-collapse: collapse; font-size: 13px; }
    td { padding: 3px 6px; border-bottom: 1px solid #21262d; } td.value { text-align: right; font-variant-numeric: tabular-nums; }
    #alerts { list-style: none; padding: 0; margin: 0; font-size: 13px; }
    #alerts li { padding: 6px; border-left: 4px solid #8b949e; margin-bottom: 6px; background: #0d1117; }
    #alerts li.severity-critical { border-color: #f85149; } #alerts li.severity-warning { border-color: #d29922; }
    form { margin-left: auto; } input { width: 22em; }
  </style>
</head>
<body>
  <header>
    <h1>meterflux · <span id="organisation">wallboard</span></h1>
    <span>status: <span id="status" data-live="false">starting</span></span>
    <span>live events: <span id="event-count">0</span></span>
    <span>open alerts: <span id="alert-count">0</span></span>
    <form id="token-form"><input id="token" type="password" placeholder="API token" autocomplete="off"> <button>Connect</button></form>
  </header>
  <section>
    <h2>Devices and stations</h2>
    <svg id="map" role="img" aria-label="Devices by their sites' coordinates"></svg>
    <h2>Latest readings</h2>
    <table id="readings"><tbody></tbody></table>
  </section>
  <section>
    <h2>Open alerts</h2>
    <ul id="alerts"></ul>
  </section>
  <script src="./wallboard.js"></script>
</body>
</html>
`;

/** Bundles both pages into `outDir` (default {@link UI_DIR}), replacing what was there. */
export async function buildUi(outDir: string = UI_DIR): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(`${outDir}/explorer`, { recursive: true });
  await mkdir(`${outDir}/wallboard`, { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    legalComments: 'linked',
  };
  await build({ ...common, entryPoints: { explorer: `${SOURCE_DIR}web/explorer.js` }, outdir: `${outDir}/explorer` });
  await build({ ...common, entryPoints: { wallboard: `${SOURCE_DIR}web/wallboard.js` }, outdir: `${outDir}/wallboard` });
  await writeFile(`${outDir}/explorer/index.html`, EXPLORER_HTML);
  await writeFile(`${outDir}/wallboard/index.html`, WALLBOARD_HTML);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildUi().catch((err: unknown) => {
    process.stderr.write(`building the UI pages failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
