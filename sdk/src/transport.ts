import { BillingError, errorFromResponse } from "./errors.js";

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

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  maxRetryAfterMs: 30_000,
};

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

const RETRIED_STATUSES = new Set([429, 503]);

/** Send requests as the signed-in user, retrying only what the API says is safe to retry. */
export function createTransport(options: TransportOptions): Transport {
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const newKey = options.newKey ?? (() => globalThis.crypto.randomUUID());
  const base = options.baseUrl.replace(/\/+$/, "");

  return async function request<T>(call: Request): Promise<T> {
    const mutating = call.method !== "GET";
    // One key per call, reused by each of its retries: the service then runs it at most once.
    const key = mutating ? (call.idempotencyKey ?? newKey()) : null;
    const url = base + call.path + queryString(call.query);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        Accept: call.blob ? "application/pdf, application/json" : "application/json",
      };
      const token = await options.token();
      if (token !== null) headers["Authorization"] = `Bearer ${token}`;
      if (key !== null) headers["Idempotency-Key"] = key;
      if (call.body !== undefined) headers["Content-Type"] = "application/json";
      const init: RequestInit = { method: call.method, headers };
      if (call.body !== undefined) init.body = JSON.stringify(call.body);

      let error: BillingError;
      let retryAfterMs: number | null = null;
      try {
        const response = await send(url, init);
        if (response.ok) return (call.blob ? await response.blob() : await response.json()) as T;
        error = await errorFromResponse(response);
        retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
      } catch (thrown) {
        if (thrown instanceof BillingError) throw thrown;
        // No answer: the request may or may not have run. A GET changes nothing, and a keyed
        // mutation runs once however often it is sent, so both may be sent again.
        error = new BillingError("network_error", describe(thrown), 0);
      }
      const last = attempt + 1 >= policy.attempts;
      if (last || !isRetryable(error) || (retryAfterMs ?? 0) > policy.maxRetryAfterMs) throw error;
      await sleep(retryAfterMs ?? backoff(policy, attempt, random()));
    }
  };
}

/** 429 and 503 always; a 409 only when the service marks it retryable (the same key is still
 * running elsewhere), never a 409 that says the request itself conflicts. */
function isRetryable(error: BillingError): boolean {
  if (error.code === "network_error" || RETRIED_STATUSES.has(error.status)) return true;
  return error.status === 409 && error.retryable;
}

function backoff(policy: RetryPolicy, attempt: number, jitter: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function describe(thrown: unknown): string {
  return thrown instanceof Error ? `no answer from the service: ${thrown.message}` : "no answer";
}
