// Type declarations of the Offload worker SDK for Node.js.

/** The worker protocol version this SDK speaks. */
export declare const PROTOCOL_VERSION: 1;

/** Thrown by a handler: fails the job with `code` and `message`. */
export declare class JobError extends Error {
  constructor(code: string, message?: string);
  readonly code: string;
}

/** Given to a handler for one job. */
export interface Context {
  /** Reports progress: `fraction` from 0 to 1 and a short note. */
  progress(fraction: number, note?: string): void;
  /** Emits a chunk of output: a string, or bytes decoded as UTF-8. */
  output(data: string | Uint8Array): void;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A job handler: the job's input, and a context for progress and output. */
export type Handler<I = any, R = JsonValue> = (input: I, ctx: Context) => R | Promise<R>;

/** Registers `fn` as the handler of job type `name`. */
export declare function handler<I = any, R = JsonValue>(name: string, fn: Handler<I, R>): void;

/** Serves jobs until offloadd closes stdin. */
export declare function run(
  extra?: Record<string, Handler>,
  streams?: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream },
): Promise<void>;
