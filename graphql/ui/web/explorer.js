// @ts-check
/* global window, document, history */
/**
 * The GraphQL IDE page (browser code, bundled by `build.ts`): GraphiQL from npm, queries and
 * mutations over HTTP, subscriptions over graphql-ws on the same `/graphql`. The bearer token is
 * whatever the user puts in the headers editor as `Authorization`; it goes in the HTTP header and
 * in the WebSocket `connection_init` payload. A `#token=<secret>` fragment pre-fills it (fragments
 * never reach the server or its logs).
 */
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import { createClient } from 'graphql-ws';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { graphqlEndpoints, tokenFromFragment } from '../page-support.js';

const { httpUrl, wsUrl } = graphqlEndpoints(window.location);

/** One fetcher, and one WebSocket, per Authorization value the user has used. @type {Map<string, import('@graphiql/toolkit').Fetcher>} */
const fetchers = new Map();

/**
 * @param {Record<string, unknown> | undefined} headers
 * @param {string} name lower case
 * @returns {string}
 */
function headerValue(headers, name) {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return '';
}

/** @type {import('@graphiql/toolkit').Fetcher} */
const fetcher = (params, options) => {
  const authorization = headerValue(options?.headers, 'authorization');
  let current = fetchers.get(authorization);
  if (current === undefined) {
    const wsClient = createClient({
      url: wsUrl,
      lazy: true,
      connectionParams: authorization === '' ? {} : { authorization },
      retryAttempts: 5,
    });
    current = createGraphiQLFetcher({ url: httpUrl, wsClient });
    fetchers.set(authorization, current);
  }
  return current(params, options);
};

const token = tokenFromFragment(window.location.hash);
const initialHeaders = JSON.stringify({ Authorization: `Bearer ${token ?? '<paste an API token here>'}` }, null, 2);
if (token !== undefined) history.replaceState(null, '', window.location.pathname + window.location.search);

const DEFAULT_QUERY = `# Queries and mutations run over HTTP, subscriptions over WebSocket; put your token in the
# Headers tab as "Authorization": "Bearer <token>".
query Who {
  viewer {
    organisation { id name }
    scopes
  }
}
`;

createRoot(/** @type {HTMLElement} */ (document.getElementById('explorer'))).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    headers: initialHeaders,
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false,
  }),
);
