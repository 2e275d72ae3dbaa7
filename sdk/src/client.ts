import type { FirebaseApp } from "firebase/app";
import { getAuth, type Auth } from "firebase/auth";
import { getFirestore, type Firestore } from "firebase/firestore";

import { watchBalance, type LiveBalance } from "./balance.js";
import type { components, operations, paths } from "./generated/api.js";
import { pages } from "./pages.js";
import { createTransport, type Query, type RetryPolicy, type Transport } from "./transport.js";

type Schemas = components["schemas"];
// Paths are the document's own keys: a path the service no longer serves fails to type-check.
type Path = keyof paths;
type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

export type Balance = Schemas["BalanceJson"];
export type Account = Schemas["AccountJson"];
export type AccountPatch = Schemas["AccountPatch"];
export type CreditPackage = Schemas["PackageJson"];
export type PurchaseRequest = Schemas["PurchaseBody"];
export type Checkout = Schemas["CheckoutJson"];
export type RazorpayCheckoutResult = Schemas["VerifyBody"];
export type VerifiedPurchase = Schemas["VerifiedJson"];
export type Order = Schemas["OrderJson"];
export type OrderPage = Schemas["OrderPage"];
export type LedgerEntry = Schemas["EntryJson"];
export type LedgerEntryType = Schemas["EntryType"];
export type TransactionPage = Schemas["EntryPage"];
export type TransactionQuery = QueryOf<"transactions_list">;
export type OrderQuery = QueryOf<"credits_orders">;
export type UsageQuery = QueryOf<"transactions_usage">;
export type UsageSummary = Schemas["UsageSummaryJson"];
export type PaymentRequest = Schemas["PaymentBody"];
export type Payment = Schemas["PaymentJson"];
export type VerifiedPayment = Schemas["VerifiedPaymentJson"];
export type RefundRequest = Schemas["RefundBody"];
export type Refund = Schemas["RefundJson"];
export type VerifiedRefund = Schemas["VerifiedRefundJson"];
export type CreditChange = Schemas["CreditChange"];
export type CreditChangeResult = Schemas["ChangeJson"];
export type AdminAccount = Schemas["AdminAccountJson"];
export type AdminAccountQuery = QueryOf<"admin_accounts">;
export type AdminTransactionQuery = QueryOf<"admin_transactions">;
export type OrderRefundRequest = Schemas["OrderRefundBody"];
export type OrderRefund = Schemas["OrderRefundJson"];
export type DeviceRegistration = Schemas["DeviceBody"];
export type Device = Schemas["DeviceJson"];
export type Invoice = Schemas["InvoiceJson"];
export type InvoicePage = Schemas["InvoicePage"];
export type InvoiceQuery = QueryOf<"invoices_list">;
export type BillingDetails = Schemas["BillingDetailsJson"];
export type BillingDetailsRequest = Schemas["BillingDetailsBody"];

export interface BillingClientOptions {
  /** The Firebase app the user signs in with; or pass `auth` (and `firestore`) directly. */
  readonly app?: FirebaseApp;
  readonly auth?: Auth;
  /** Where `onBalance` listens; by default the app's (or the auth's app's) Firestore. */
  readonly firestore?: Firestore;
  /** The service's origin; "" (the default) is the page's own origin behind Firebase Hosting. */
  readonly baseUrl?: string;
  readonly fetch?: typeof fetch;
  readonly retry?: Partial<RetryPolicy>;
}

/** Options of a mutating call. */
export interface MutationOptions {
  /** Send this Idempotency-Key instead of a new one, e.g. a key kept across a page reload. */
  readonly idempotencyKey?: string;
}

export type BillingClient = ReturnType<typeof createBillingClient>;

/** A client of the billing service acting as the Firebase user signed in to `auth`. */
export function createBillingClient(options: BillingClientOptions) {
  const auth = options.auth ?? (options.app ? getAuth(options.app) : undefined);
  if (auth === undefined) throw new TypeError("createBillingClient needs `app` or `auth`");
  const request: Transport = createTransport({
    baseUrl: options.baseUrl ?? "",
    token: async () => (auth.currentUser ? auth.currentUser.getIdToken() : null),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const get = <T>(path: Path, query?: Query) =>
    request<T>({ method: "GET", path, ...(query ? { query } : {}) });
  const post = <T>(path: Path, body: unknown, opts: MutationOptions = {}) =>
    request<T>({ method: "POST", path, body, ...opts });
  // A list's pages: from the query's cursor (if any) on, each with the query's filters.
  const list = <P extends OrderPage | TransactionPage | InvoicePage>(path: Path, query: Query) => {
    const { cursor, ...filters } = query;
    return pages((next) => get<P>(path, { ...filters, cursor: next }), cursor?.toString());
  };
  // A path with its one {param} filled in, as a single encoded segment.
  const one = (path: Path, id: string) => path.replace(/{\w+}/, encodeURIComponent(id)) as Path;

  return {
    /** The caller's balance, held and available credit units. */
    balance: () => get<Balance>("/api/v1/credits/balance"),
    /** The balance plus lifetime totals and settings. */
    account: () => get<Account>("/api/v1/credits/account"),
    /** Change the caller's settings (the low-balance threshold, in credit units). */
    updateAccount: (patch: AccountPatch, opts: MutationOptions = {}) =>
      request<Account>({
        method: "PATCH",
        path: "/api/v1/credits/account" satisfies Path,
        body: patch,
        ...opts,
      }),
    /** Credit packages on sale, with tax, total and bonus credits. */
    packages: async () => (await get<Schemas["PackageList"]>("/api/v1/credits/packages")).data,
    /** Start a credit purchase. Razorpay: open Checkout with `key_id` and `provider_order_id`,
     * then `verifyPurchase` its handler's answer. Stripe: confirm `client_secret` with Stripe.js. */
    purchase: (purchase: PurchaseRequest, opts: MutationOptions = {}) =>
      post<Checkout>("/api/v1/credits/purchase", purchase, opts),
    /** Verify Razorpay Checkout's result and grant the order's credits (once). */
    verifyPurchase: (result: RazorpayCheckoutResult, opts: MutationOptions = {}) =>
      post<VerifiedPurchase>("/api/v1/payments/verify", result, opts),
    /** One of the caller's credit orders, with its status. */
    orderStatus: (orderId: string) => get<Order>("/api/v1/payments/status", { order_id: orderId }),
    /** The caller's credit orders, newest first, a page at a time. */
    orders: (query: OrderQuery = {}) => list<OrderPage>("/api/v1/credits/orders", query),
    /** The caller's ledger entries, newest first, a page at a time (`for await` the pages). */
    transactions: (query: TransactionQuery = {}) =>
      list<TransactionPage>("/api/v1/transactions", query),
    /** Credits used, grouped by service or by day. */
    usage: (query: UsageQuery = {}) => get<UsageSummary>("/api/v1/transactions/usage", query),
    /** Seed 004: pay with a Stripe PaymentMethod; `requires_action` means 3-D Secure: confirm
     * `client_secret` with Stripe.js, then `verifyPayment`. A declined card is a BillingError
     * `card_declined` (402) with `details.decline_code`. */
    pay: (payment: PaymentRequest, opts: MutationOptions = {}) =>
      post<Payment>("/api/payment/process", payment, opts),
    payment: (paymentIntentId: string) =>
      get<Payment>(one("/api/payment/{payment_intent_id}", paymentIntentId)),
    verifyPayment: (paymentIntentId: string, opts: MutationOptions = {}) =>
      post<VerifiedPayment>("/api/payment/verify", { payment_intent_id: paymentIntentId }, opts),
    /** Refund a card payment in full or in part (never more than was captured). */
    refund: (refund: RefundRequest, opts: MutationOptions = {}) =>
      post<Refund>("/api/refund/process", refund, opts),
    getRefund: (refundId: string) => get<Refund>(one("/api/refund/{refund_id}", refundId)),
    verifyRefund: (refundId: string, opts: MutationOptions = {}) =>
      post<VerifiedRefund>("/api/refund/verify", { refund_id: refundId }, opts),
    /** Admins only (custom claim admin: true): grant credits to a user, with a reason. */
    grantCredits: (change: CreditChange, opts: MutationOptions = {}) =>
      post<CreditChangeResult>("/api/v1/admin/credits/grant", change, opts),
    /** Admins only: adjust a user's credits up or down (signed amount), with a reason. */
    adjustCredits: (change: CreditChange, opts: MutationOptions = {}) =>
      post<CreditChangeResult>("/api/v1/admin/credits/adjust", change, opts),
    /** Admins only: the account of the user with this email or user_id (with its email). */
    findAccount: (query: AdminAccountQuery) => get<AdminAccount>("/api/v1/admin/accounts", query),
    /** Admins only: that user's ledger entries, newest first, a page at a time. */
    accountTransactions: (query: AdminTransactionQuery) =>
      list<TransactionPage>("/api/v1/admin/transactions", query),
    /** Admins only: refund a credit purchase through its provider (all that is left by default);
     * its credits are taken back once, whichever of this answer and the provider's webhook
     * comes first. */
    refundOrder: (orderId: string, refund: OrderRefundRequest, opts: MutationOptions = {}) =>
      post<OrderRefund>(one("/api/v1/admin/orders/{order_id}/refund", orderId), refund, opts),
    /** The caller's GST tax invoices and credit notes, newest first, a page at a time (admins:
     * any account's with `user_id`). */
    invoices: (query: InvoiceQuery = {}) => list<InvoicePage>("/api/v1/invoices", query),
    /** One tax invoice or credit note (another user's is a 404). */
    invoice: (invoiceId: string) => get<Invoice>(one("/api/v1/invoices/{invoice_id}", invoiceId)),
    /** One tax invoice or credit note as a PDF Blob (the same bytes every time). */
    invoicePdf: (invoiceId: string) =>
      request<Blob>({
        method: "GET",
        path: one("/api/v1/invoices/{invoice_id}/pdf", invoiceId),
        blob: true,
      }),
    /** The caller's billing details for invoices (a 404 until saved). */
    billingDetails: () => get<BillingDetails>("/api/v1/billing/details"),
    /** Save the caller's billing details (name, address, state, optional GSTIN); used for
     * invoices of purchases paid after saving. A bad field is a 400 naming it. */
    saveBillingDetails: (details: BillingDetailsRequest, opts: MutationOptions = {}) =>
      request<BillingDetails>({
        method: "PUT",
        path: "/api/v1/billing/details" satisfies Path,
        body: details,
        ...opts,
      }),
    /** Register this device's FCM token for the caller's push notifications (low balance). */
    registerDevice: (device: DeviceRegistration, opts: MutationOptions = {}) =>
      post<Device>("/api/v1/devices", device, opts),
    /** Live balance of whoever is signed in: a Firestore listener on their own user_credits
     * document, following sign-in and sign-out (null while nobody is signed in). Returns the
     * function that stops listening. */
    onBalance: (
      callback: (balance: LiveBalance | null) => void,
      onError?: (error: Error) => void,
    ) => watchBalance(auth, options.firestore ?? getFirestore(auth.app), callback, onError),
  };
}
