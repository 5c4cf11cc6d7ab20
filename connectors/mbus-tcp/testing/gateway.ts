/**
 * Test support: serial-to-IP gateways over real TCP sockets. {@link GatewayClient} sends bytes and
 * records the answers; {@link ResendingGateway} behaves like a gateway that must not lose a frame:
 * it re-sends, on a new connection, every frame it holds no answer for.
 */
import { connect, type Socket } from 'node:net';
import { STORED_REPLY } from '../session.js';

/** One connection to the connector. */
export class GatewayClient {
  /** Answer bytes received, in order. */
  readonly replies: number[] = [];
  closed = false;
  /** `ip:port` of this end, the `sourceAddress` the connector records; set once connected. */
  localAddress = '';
  /** Resolves when the connection is closed, by either side. */
  readonly whenClosed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (bytes: Buffer) => this.replies.push(...bytes));
    socket.on('error', () => undefined);
    this.whenClosed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  /** Connects to the connector at `port`; resolves once connected, or once refused and closed. */
  static async open(port: number, host = '127.0.0.1'): Promise<GatewayClient> {
    const socket = connect(port, host);
    const client = new GatewayClient(socket);
    const connected = new Promise<void>((resolve) =>
      socket.once('connect', () => {
        client.localAddress = `${socket.localAddress}:${socket.localPort}`;
        resolve();
      }),
    );
    await Promise.race([connected, client.whenClosed]);
    return client;
  }

  /**
   * Writes each chunk as its own write, letting the event loop turn between them, so the stream
   * reaches the connector cut where the chunks are cut as far as TCP allows.
   */
  async send(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      if (this.closed) return;
      await new Promise<void>((resolve) => this.socket.write(chunk, () => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Half-closes: the gateway has nothing more to send, but still reads answers. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Options of {@link ResendingGateway.deliver}. */
export interface DeliverOptions {
  /** Frames sent ahead of their answers. */
  readonly window: number;
  /** Called with the number of frames answered so far after each answer. */
  readonly onAnswered?: (answered: number) => void;
}

/**
 * A gateway that must not lose a frame: it sends frames ahead of their answers up to a window,
 * and when the connection closes, reconnects and re-sends every frame it holds no answer for.
 * Frames come from a generator, so a test can keep the stream running until something happened.
 */
export class ResendingGateway {
  /** Every frame ever handed out by the generator, in order; all answered when `deliver` resolves. */
  readonly sent: Uint8Array[] = [];
  connections = 0;
  private answered = 0;
  private exhausted = false;

  constructor(
    private readonly port: number,
    private readonly frames: () => Uint8Array | undefined,
  ) {}

  /**
   * Sends until the generator runs dry and every frame is answered with E5.
   *
   * @throws when an answer other than E5 arrives: these tests send only good frames.
   */
  async deliver(options: DeliverOptions): Promise<void> {
    let backoffMs = 50;
    for (;;) {
      const before = this.answered;
      await this.connection(options);
      if (this.answered === this.sent.length && this.exhausted) return;
      // A real gateway backs off while the far end cannot take data; this one too, so a long outage
      // does not turn into a reconnect storm.
      backoffMs = this.answered > before ? 50 : Math.min(backoffMs * 2, 1_000);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }

  private connection({ window, onAnswered }: DeliverOptions): Promise<void> {
    this.connections++;
    return new Promise<void>((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.setNoDelay(true);
      let next = this.answered;
      const pump = (): void => {
        while (next - this.answered < window) {
          if (next === this.sent.length) {
            const frame = this.exhausted ? undefined : this.frames();
            if (frame === undefined) {
              this.exhausted = true;
              break;
            }
            this.sent.push(frame);
          }
          socket.write(this.sent[next++]!);
        }
        if (this.exhausted && this.answered === this.sent.length) socket.end();
      };
      socket.on('connect', pump);
      socket.on('data', (bytes: Buffer) => {
        for (const byte of bytes) {
          if (byte !== STORED_REPLY) {
            socket.destroy();
            reject(new Error(`answer 0x${byte.toString(16)} to frame ${this.answered}, expected E5`));
            return;
          }
          this.answered++;
        }
        onAnswered?.(this.answered);
        pump();
      });
      socket.on('error', () => undefined);
      socket.once('close', () => resolve());
    });
  }
}
