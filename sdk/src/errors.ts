import type { components } from "./generated/api.js";

/** An error code the service answers with (the OpenAPI document's ErrorDetail.code), or one of
 * the SDK's own: `network_error` (no answer reached us) and `invalid_response` (an answer that is
 * not our JSON error body, e.g. a proxy's HTML page). */
export type ErrorCode =
  components["schemas"]["ErrorDetail"]["code"] | "network_error" | "invalid_response";

/** Every failure of a billing call: the service's error code, the HTTP status and its details. */
export class BillingError extends Error {
  override readonly name = "BillingError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status; 0 when no answer arrived. */
    readonly status: number,
    /** The error body's `details`, e.g. `{fields: {amount: "..."}}` or `{decline_code: "..."}`. */
    readonly details: Readonly<Record<string, unknown>> = {},
    /** The service's X-Request-Id of the failed attempt, to quote when asking for help. */
    readonly requestId: string | null = null,
  ) {
    super(message);
  }

  /** Each bad field of a 400 and what is wrong with it (empty for other errors). */
  get fields(): Readonly<Record<string, string>> {
    const fields = this.details["fields"];
    return isRecord(fields) ? (fields as Record<string, string>) : {};
  }

  /** The service said this exact request may succeed if sent again (same Idempotency-Key). */
  get retryable(): boolean {
    return this.details["retryable"] === true;
  }
}

/** The BillingError a non-2xx answer stands for. */
export async function errorFromResponse(response: Response): Promise<BillingError> {
  const requestId = response.headers.get("X-Request-Id");
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = isRecord(body) ? body["error"] : undefined;
  if (
    isRecord(error) &&
    typeof error["code"] === "string" &&
    typeof error["message"] === "string"
  ) {
    const details = isRecord(error["details"]) ? error["details"] : {};
    return new BillingError(
      error["code"] as ErrorCode,
      error["message"],
      response.status,
      details,
      requestId,
    );
  }
  return new BillingError(
    "invalid_response",
    `HTTP ${response.status} without the service's error body`,
    response.status,
    {},
    requestId,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
