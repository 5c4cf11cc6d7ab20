/**
 * Notifications as an API module: the schema extension and resolvers of `notifications.graphql`,
 * and the notification engine (alert recorder, dispatcher, delivery listener) as components of
 * the API process. Every API instance runs the engine: the recorder's consumer group spreads
 * alert.v1 over the instances, the dispatchers share the queue through row leases, and each
 * instance's listener feeds its own live subscribers.
 */
import type { ApiServices } from '../server/context.js';
import type { ApiModule } from '../server/module.js';
import { createNotificationEngine, type NotificationEngine } from './engine.js';
import type { DeliveryListener } from './listener.js';
import { notificationResolvers } from './resolvers.js';

/** The engine of each running API process, by its services (tests run several in one Node process). */
const engines = new WeakMap<ApiServices, NotificationEngine>();

function listenerOf(services: ApiServices): DeliveryListener {
  const engine = engines.get(services);
  if (engine === undefined) throw new Error('the notification engine of this API process is not running');
  return engine.listener;
}

/** The notifications module, for `graphql/server/modules.ts`. */
export const notificationsModule: ApiModule = {
  name: 'notifications',
  typeDefs: [new URL('./notifications.graphql', import.meta.url)],
  resolvers: notificationResolvers(listenerOf),
  components(services) {
    const { catalogue } = services;
    const engine = createNotificationEngine({
      db: services.postgres,
      databaseUrl: services.config.postgres.url,
      notifications: services.config.notifications,
      kafka: services.kafka,
      codec: services.codec,
      catalogue,
      logger: services.logger,
      // Tests run the API on prefixed topics; the consumer group follows the same prefix.
      prefix: catalogue.alerts.name.slice(0, catalogue.alerts.name.length - 'alert.v1'.length),
      metrics: services.metrics,
    });
    engines.set(services, engine);
    return engine.components;
  },
};
