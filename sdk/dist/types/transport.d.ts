/** How a call is retried. Every retry of a mutating call sends its first Idempotency-Key. */
export interface RetryPolicy {
    /** Tries in all, the first included. */
    readonly attempts: number;
    /** Backoff before retry n (from 0) is about baseDelayMs * 2^n, capped at maxDelayMs. */
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
    /** A Retry-After longer than this is not waited for: the error goes to the caller at once. */
    readonly maxRetryAfterMs: number;
}
export declare const DEFAULT_RETRY: RetryPolicy;
export interface TransportOptions {
    /** The service's origin, e.g. "https://billing.example.com"; "" for the page's own origin
     * (Firebase Hosting rewrites /api/** to the functions). */
    readonly baseUrl: string;
    /** The caller's Firebase ID token, or null when nobody is signed in. */
    readonly token: () => Promise<string | null>;
    readonly fetch?: typeof fetch;
    readonly retry?: Partial<RetryPolicy>;
    /** Waits ms milliseconds (tests pass one that records the delay and returns at once). */
    readonly sleep?: (ms: number) => Promise<void>;
    /** A number in [0, 1) that spreads retries of many clients apart (jitter). */
    readonly random?: () => number;
    /** A fresh Idempotency-Key. */
    readonly newKey?: () => string;
}
export type Query = Readonly<Record<string, string | number | null | undefined>>;
export interface Request {
    readonly method: "GET" | "POST" | "PATCH" | "PUT";
    readonly path: string;
    readonly query?: Query;
    readonly body?: unknown;
    /** For a mutating call: the key to send instead of a new one (e.g. one the page kept across
     * a reload, so a purchase started before it is not started twice). */
    readonly idempotencyKey?: string;
    /** Read the answer as a Blob (a PDF) instead of JSON. */
    readonly blob?: boolean;
}
export type Transport = <T>(request: Request) => Promise<T>;
/** Send requests as the signed-in user, retrying only what the API says is safe to retry. */
export declare function createTransport(options: TransportOptions): Transport;
/** Retry-After in milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export declare function parseRetryAfter(value: string | null, now?: number): number | null;
