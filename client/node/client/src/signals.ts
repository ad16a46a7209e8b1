// AbortSignal plumbing that works on Node 18 (no AbortSignal.any there).

/** A signal that aborts when `parent` does or after `ms`; `dispose` releases the timer and the listener. */
export function withTimeout(parent: AbortSignal | undefined, ms: number | undefined): {
  signal: AbortSignal;
  timedOut: () => boolean;
  dispose: () => void;
} {
  const controller = new AbortController();
  let expired = false;
  const timer =
    ms === undefined || ms === Infinity
      ? undefined
      : setTimeout(() => {
          expired = true;
          controller.abort(new Error("timed out"));
        }, ms);
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Throws the signal's reason when it has aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason;
}

/** Capped exponential back-off with jitter (half to all of the step), so that clients do not retry in step. */
export function backoff(failures: number, initialMs: number, maxMs: number): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/**
 * Resolves once the function handed to `arm` is called (a producer's wake-up), or rejects with the signal's
 * reason when it aborts first.
 */
export function woken(signal: AbortSignal | undefined, arm: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal?.reason);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    arm(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
