/** What the parsers of an ingest request know about it besides its body. */
export interface RequestContext {
  /** The organisation of the request's API token; written into every record. */
  readonly organisationId: string;
  /** The id this connector gave the request (in its answer, logs and every record's metadata). */
  readonly requestId: string;
  /** The `Idempotency-Key` header, when the request has one. */
  readonly idempotencyKey: string | undefined;
  /** Path and query of the request, written as `RawUplink.sourceAddress`. */
  readonly sourceAddress: string;
  /** Request facts kept on every record (`RawUplink.metadata`): request id, token id, content type, remote address. */
  readonly metadata: Readonly<Record<string, string>>;
}
