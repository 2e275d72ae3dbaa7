/** The billing service's web client: typed calls as the signed-in Firebase user, a live
 * balance from Firestore, one error class. */
export { createBillingClient } from "./client.js";
export type * from "./client.js";
export type { LiveBalance } from "./balance.js";
export { BillingError, type ErrorCode } from "./errors.js";
export { pages, type Page } from "./pages.js";
export { DEFAULT_RETRY, parseRetryAfter, type RetryPolicy } from "./transport.js";
export type { components, operations, paths } from "./generated/api.js";
