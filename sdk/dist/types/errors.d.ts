import type { components } from "./generated/api.js";
/** An error code the service answers with (the OpenAPI document's ErrorDetail.code), or one of
 * the SDK's own: `network_error` (no answer reached us) and `invalid_response` (an answer that is
 * not our JSON error body, e.g. a proxy's HTML page). */
export type ErrorCode = components["schemas"]["ErrorDetail"]["code"] | "network_error" | "invalid_response";
/** Every failure of a billing call: the service's error code, the HTTP status and its details. */
export declare class BillingError extends Error {
    readonly code: ErrorCode;
    /** The HTTP status; 0 when no answer arrived. */
    readonly status: number;
    /** The error body's `details`, e.g. `{fields: {amount: "..."}}` or `{decline_code: "..."}`. */
    readonly details: Readonly<Record<string, unknown>>;
    /** The service's X-Request-Id of the failed attempt, to quote when asking for help. */
    readonly requestId: string | null;
    readonly name = "BillingError";
    constructor(code: ErrorCode, message: string, 
    /** The HTTP status; 0 when no answer arrived. */
    status: number, 
    /** The error body's `details`, e.g. `{fields: {amount: "..."}}` or `{decline_code: "..."}`. */
    details?: Readonly<Record<string, unknown>>, 
    /** The service's X-Request-Id of the failed attempt, to quote when asking for help. */
    requestId?: string | null);
    /** Each bad field of a 400 and what is wrong with it (empty for other errors). */
    get fields(): Readonly<Record<string, string>>;
    /** The service said this exact request may succeed if sent again (same Idempotency-Key). */
    get retryable(): boolean;
}
/** The BillingError a non-2xx answer stands for. */
export declare function errorFromResponse(response: Response): Promise<BillingError>;
