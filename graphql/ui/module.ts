/**
 * The API module that serves the built pages: `/explorer/` (the GraphQL IDE) and `/wallboard/`
 * (the live wallboard), from `var/ui/` as `build.ts` wrote it. The pages are static and carry no
 * secret, so they need no token; what they show comes through `/graphql` with the user's token.
 * A Content-Security-Policy allows nothing outside this origin, so they cannot reach the internet.
 */
import { existsSync } from 'node:fs';
import express, { type Router } from 'express';
import type { ApiModule } from '../server/module.js';
import { UI_DIR } from './build.js';

/** The pages and their folders under the UI directory. */
const PAGES = ['explorer', 'wallboard'] as const;

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  // GraphiQL and CodeMirror set element styles at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Mounts the pages of `uiDir` (default `var/ui/`) on `router`. */
export function mountPages(router: Router, uiDir: string = UI_DIR): void {
  for (const page of PAGES) {
    const dir = `${uiDir}/${page}`;
    router.use(`/${page}`, (req, res, next) => {
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      if (existsSync(`${dir}/index.html`)) {
        next();
        return;
      }
      res.status(503).type('text/plain').send(`The ${page} page is not built: run \`npx tsx graphql/ui/build.ts\`.\n`);
    });
    router.use(`/${page}`, express.static(dir, { index: 'index.html', redirect: true, maxAge: 0 }));
  }
}

/** The pages as an API module (no schema of its own). */
export const uiModule: ApiModule = {
  name: 'ui',
  typeDefs: [],
  routes: (router) => mountPages(router),
};
