/** The part of s3rver (an S3-compatible server for tests, no bundled types) the billing tests use. */
declare module 's3rver' {
  interface S3rverOptions {
    readonly address?: string;
    /** 0 picks a free port; {@link S3rver.run} resolves with the one bound. */
    readonly port?: number;
    readonly silent?: boolean;
    /** Where the objects are kept, as files. */
    readonly directory?: string;
    readonly resetOnClose?: boolean;
    readonly configureBuckets?: ReadonlyArray<{ readonly name: string }>;
  }
  export default class S3rver {
    constructor(options?: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
