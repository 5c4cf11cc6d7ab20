/**
 * The modules the API server runs, in order. The first one owns `graphql/schema.graphql`; add a
 * module here (one line) to contribute SDL, resolvers, routes or components (see `module.ts`).
 */
import { notificationsModule } from '../notifications/module.js';
import { coreModule } from '../resolvers/index.js';
import { uiModule } from '../ui/module.js';
import type { ApiModule } from './module.js';

export const API_MODULES: readonly ApiModule[] = [coreModule, notificationsModule, uiModule];
