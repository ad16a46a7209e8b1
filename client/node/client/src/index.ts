// @offload/client: send heavy work from a Node.js back end to offloadd, and follow it.
export { OffloadClient } from "./client.js";
export type { CallOptions, ClientOptions, EventsOptions, ReconnectInfo, SubmitOptions, WaitOptions } from "./client.js";
export { OffloadError, isTransient } from "./errors.js";
export type { ClientErrorCode } from "./errors.js";
export { TERMINAL_EVENTS, TERMINAL_STATES } from "./types.js";
export type {
  ErrorInfo,
  HealthStatus,
  JobEvent,
  JobEventType,
  JobPage,
  JobSpec,
  JobState,
  JobView,
  Json,
  Lane,
  ListFilter,
  PoolStats,
  Stats,
  Submission,
  TypeInfo,
} from "./types.js";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.js";
