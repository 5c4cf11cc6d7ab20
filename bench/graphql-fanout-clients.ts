/**
 * The client side of the fan-out benchmark, run as a child process so that the parent's heap
 * and CPU hold only the server side. The parent sends commands over IPC; this process opens N
 * WebSocket clients, counts the messages each receives, and answers when they reach a count.
 *
 * Clients are bare `ws` sockets. A GraphQL client speaks graphql-transport-ws by hand (init,
 * then subscribe on the ack), so both sides of the comparison pay the same client cost.
 */
import WebSocket from 'ws';

/** A command from the parent. */
export type ClientCommand =
  | { readonly type: 'open'; readonly url: string; readonly count: number; readonly graphql?: { readonly secret: string; readonly query: string } }
  | { readonly type: 'reset' }
  | { readonly type: 'await'; readonly received: number }
  | { readonly type: 'capture' }
  | { readonly type: 'total' }
  | { readonly type: 'close' };

/** An answer to the parent; `captured` carries the next message one client received. */
export type ClientAnswer =
  | { readonly type: 'done' }
  | { readonly type: 'captured'; readonly message: string }
  | { readonly type: 'total'; readonly received: number }
  | { readonly type: 'failed'; readonly error: string };

interface Counted {
  readonly socket: WebSocket;
  received: number;
}

let clients: Counted[] = [];
/** Clients whose count reached `target`; the answer goes when all have. */
let reached = 0;
let target = Infinity;
let capture = false;

const answer = (message: ClientAnswer): void => void process.send!(message);

function counted(client: Counted): void {
  client.received += 1;
  if (client.received === target) {
    reached += 1;
    if (reached === clients.length) {
      target = Infinity;
      answer({ type: 'done' });
    }
  }
}

async function openOne(command: Extract<ClientCommand, { type: 'open' }>): Promise<Counted> {
  const socket = new WebSocket(command.url, command.graphql ? 'graphql-transport-ws' : undefined);
  const client: Counted = { socket, received: 0 };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => {
      const graphql = command.graphql;
      if (!graphql) {
        socket.on('message', () => counted(client));
        return resolve();
      }
      socket.once('message', () => {
        // connection_ack: subscribe, and count what follows.
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: graphql.query } }));
        socket.on('message', (data) => {
          if (capture) {
            capture = false;
            answer({ type: 'captured', message: String(data) });
          }
          counted(client);
        });
        resolve();
      });
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${graphql.secret}` } }));
    });
  });
  return client;
}

async function run(command: ClientCommand): Promise<void> {
  switch (command.type) {
    case 'open':
      for (let i = 0; i < command.count; i += 1) clients.push(await openOne(command));
      return answer({ type: 'done' });
    case 'reset':
      target = Infinity;
      for (const client of clients) client.received = 0;
      return answer({ type: 'done' });
    case 'await':
      reached = clients.filter((c) => c.received >= command.received).length;
      if (reached === clients.length) return answer({ type: 'done' });
      target = command.received;
      return;
    case 'capture':
      capture = true;
      return;
    case 'total':
      return answer({ type: 'total', received: clients.reduce((sum, c) => sum + c.received, 0) });
    case 'close':
      await Promise.all(
        clients.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.socket.readyState === WebSocket.CLOSED) return resolve();
              c.socket.once('close', () => resolve());
              c.socket.close();
            }),
        ),
      );
      clients = [];
      return answer({ type: 'done' });
  }
}

process.on('message', (command: ClientCommand) => {
  run(command).catch((err: unknown) => answer({ type: 'failed', error: err instanceof Error ? err.message : String(err) }));
});
