import type { FirebaseApp } from "firebase/app";
import { type Auth } from "firebase/auth";
import { type Firestore } from "firebase/firestore";
import { type LiveBalance } from "./balance.js";
import type { components, operations } from "./generated/api.js";
import { type RetryPolicy } from "./transport.js";
type Schemas = components["schemas"];
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
export declare function createBillingClient(options: BillingClientOptions): {
    /** The caller's balance, held and available credit units. */
    balance: () => Promise<{
        available: number;
        balance: number;
        held: number;
        low_balance_threshold: number;
        updated_at: string | null;
        user_id: string;
    }>;
    /** The balance plus lifetime totals and settings. */
    account: () => Promise<{
        available: number;
        balance: number;
        grants: components["schemas"]["OpenGrantJson"][];
        held: number;
        low_balance_threshold: number;
        next_expiry: string | null;
        settings: {
            [key: string]: unknown;
        };
        total_adjusted: number;
        total_bonus: number;
        total_expired: number;
        total_granted: number;
        total_purchased: number;
        total_refunded: number;
        total_used: number;
        total_voided: number;
        updated_at: string | null;
        user_id: string;
    }>;
    /** Change the caller's settings (the low-balance threshold, in credit units). */
    updateAccount: (patch: AccountPatch, opts?: MutationOptions) => Promise<{
        available: number;
        balance: number;
        grants: components["schemas"]["OpenGrantJson"][];
        held: number;
        low_balance_threshold: number;
        next_expiry: string | null;
        settings: {
            [key: string]: unknown;
        };
        total_adjusted: number;
        total_bonus: number;
        total_expired: number;
        total_granted: number;
        total_purchased: number;
        total_refunded: number;
        total_used: number;
        total_voided: number;
        updated_at: string | null;
        user_id: string;
    }>;
    /** Credit packages on sale, with tax, total and bonus credits. */
    packages: () => Promise<{
        amount: number;
        bonus_credits: number;
        credits: number;
        currency: string;
        id: string;
        name: string;
        tax: number;
        total: number;
    }[]>;
    /** Start a credit purchase. Razorpay: open Checkout with `key_id` and `provider_order_id`,
     * then `verifyPurchase` its handler's answer. Stripe: confirm `client_secret` with Stripe.js. */
    purchase: (purchase: PurchaseRequest, opts?: MutationOptions) => Promise<{
        amount: number;
        bonus_credits: number;
        client_secret?: string;
        credits: number;
        currency: string;
        key_id: string;
        order_id: string;
        package_id: string | null;
        provider: string;
        provider_order_id: string;
        status: components["schemas"]["OrderStatus"];
        tax: number;
        total: number;
    }>;
    /** Verify Razorpay Checkout's result and grant the order's credits (once). */
    verifyPurchase: (result: RazorpayCheckoutResult, opts?: MutationOptions) => Promise<{
        balance: number;
        credits_granted: number;
        order_id: string;
        status: "paid";
    }>;
    /** One of the caller's credit orders, with its status. */
    orderStatus: (orderId: string) => Promise<{
        amount: number;
        bonus_credits: number;
        created_at: string;
        credits: number;
        currency: string;
        disputes: {
            [key: string]: unknown;
        };
        flags: {
            [key: string]: unknown;
        };
        order_id: string;
        package_id: string | null;
        paid_at: string | null;
        provider: string;
        provider_order_id: string;
        provider_payment_id: string | null;
        refunds: {
            [key: string]: unknown;
        };
        status: components["schemas"]["OrderStatus"];
        tax: number;
        total: number;
    }>;
    /** The caller's credit orders, newest first, a page at a time. */
    orders: (query?: OrderQuery) => AsyncGenerator<{
        data: components["schemas"]["OrderJson"][];
        next_cursor: string | null;
    }, void, undefined>;
    /** The caller's ledger entries, newest first, a page at a time (`for await` the pages). */
    transactions: (query?: TransactionQuery) => AsyncGenerator<{
        data: components["schemas"]["EntryJson"][];
        next_cursor: string | null;
    }, void, undefined>;
    /** Credits used, grouped by service or by day. */
    usage: (query?: UsageQuery) => Promise<{
        data: components["schemas"]["UsageGroupJson"][];
        group_by: components["schemas"]["GroupBy"];
        total: number;
    }>;
    /** Seed 004: pay with a Stripe PaymentMethod; `requires_action` means 3-D Secure: confirm
     * `client_secret` with Stripe.js, then `verifyPayment`. A declined card is a BillingError
     * `card_declined` (402) with `details.decline_code`. */
    pay: (payment: PaymentRequest, opts?: MutationOptions) => Promise<{
        amount: number;
        amount_refunded: number;
        client_secret: string | null;
        created_at: string | null;
        currency: string;
        customer_email: string | null;
        decline_code: string | null;
        description: string | null;
        disputes: {
            [key: string]: {
                [key: string]: unknown;
            };
        };
        failure_message: string | null;
        metadata: {
            [key: string]: string;
        };
        payment_intent_id: string;
        requires_action: boolean;
        status: components["schemas"]["PaymentStatus"];
        updated_at: string | null;
    }>;
    payment: (paymentIntentId: string) => Promise<{
        amount: number;
        amount_refunded: number;
        client_secret: string | null;
        created_at: string | null;
        currency: string;
        customer_email: string | null;
        decline_code: string | null;
        description: string | null;
        disputes: {
            [key: string]: {
                [key: string]: unknown;
            };
        };
        failure_message: string | null;
        metadata: {
            [key: string]: string;
        };
        payment_intent_id: string;
        requires_action: boolean;
        status: components["schemas"]["PaymentStatus"];
        updated_at: string | null;
    }>;
    verifyPayment: (paymentIntentId: string, opts?: MutationOptions) => Promise<{
        amount: number;
        amount_refunded: number;
        client_secret: string | null;
        created_at: string | null;
        currency: string;
        customer_email: string | null;
        decline_code: string | null;
        description: string | null;
        disputes: {
            [key: string]: {
                [key: string]: unknown;
            };
        };
        failure_message: string | null;
        metadata: {
            [key: string]: string;
        };
        payment_intent_id: string;
        provider_status: components["schemas"]["PaymentStatus"];
        requires_action: boolean;
        status: components["schemas"]["PaymentStatus"];
        updated_at: string | null;
        verified: boolean;
    }>;
    /** Refund a card payment in full or in part (never more than was captured). */
    refund: (refund: RefundRequest, opts?: MutationOptions) => Promise<{
        amount: number;
        created_at: string | null;
        currency: string;
        metadata: {
            [key: string]: string;
        };
        payment_intent_id: string;
        reason: string | null;
        refund_id: string;
        status: components["schemas"]["RefundStatus"];
        updated_at: string | null;
    }>;
    getRefund: (refundId: string) => Promise<{
        amount: number;
        created_at: string | null;
        currency: string;
        metadata: {
            [key: string]: string;
        };
        payment_intent_id: string;
        reason: string | null;
        refund_id: string;
        status: components["schemas"]["RefundStatus"];
        updated_at: string | null;
    }>;
    verifyRefund: (refundId: string, opts?: MutationOptions) => Promise<{
        amount: number;
        created_at: string | null;
        currency: string;
        metadata: {
            [key: string]: string;
        };
        payment_intent_id: string;
        provider_status: components["schemas"]["RefundStatus"];
        reason: string | null;
        refund_id: string;
        status: components["schemas"]["RefundStatus"];
        updated_at: string | null;
        verified: boolean;
    }>;
    /** Admins only (custom claim admin: true): grant credits to a user, with a reason. */
    grantCredits: (change: CreditChange, opts?: MutationOptions) => Promise<{
        actor: string | null;
        amount: number;
        balance_after: number;
        created_at: string;
        reason: string;
        transaction_id: string;
        type: components["schemas"]["EntryType"];
        user_id: string;
    }>;
    /** Admins only: adjust a user's credits up or down (signed amount), with a reason. */
    adjustCredits: (change: CreditChange, opts?: MutationOptions) => Promise<{
        actor: string | null;
        amount: number;
        balance_after: number;
        created_at: string;
        reason: string;
        transaction_id: string;
        type: components["schemas"]["EntryType"];
        user_id: string;
    }>;
    /** Admins only: the account of the user with this email or user_id (with its email). */
    findAccount: (query: AdminAccountQuery) => Promise<{
        available: number;
        balance: number;
        email: string | null;
        grants: components["schemas"]["OpenGrantJson"][];
        held: number;
        low_balance_threshold: number;
        next_expiry: string | null;
        settings: {
            [key: string]: unknown;
        };
        total_adjusted: number;
        total_bonus: number;
        total_expired: number;
        total_granted: number;
        total_purchased: number;
        total_refunded: number;
        total_used: number;
        total_voided: number;
        updated_at: string | null;
        user_id: string;
    }>;
    /** Admins only: that user's ledger entries, newest first, a page at a time. */
    accountTransactions: (query: AdminTransactionQuery) => AsyncGenerator<{
        data: components["schemas"]["EntryJson"][];
        next_cursor: string | null;
    }, void, undefined>;
    /** Admins only: refund a credit purchase through its provider (all that is left by default);
     * its credits are taken back once, whichever of this answer and the provider's webhook
     * comes first. */
    refundOrder: (orderId: string, refund: OrderRefundRequest, opts?: MutationOptions) => Promise<{
        amount: number;
        credits_taken_back: number;
        currency: string;
        order_id: string;
        provider: string;
        provider_refund_id: string;
        reason: string;
        status: components["schemas"]["RefundStatus"];
    }>;
    /** The caller's GST tax invoices and credit notes, newest first, a page at a time (admins:
     * any account's with `user_id`). */
    invoices: (query?: InvoiceQuery) => AsyncGenerator<{
        data: components["schemas"]["InvoiceJson"][];
        next_cursor: string | null;
    }, void, undefined>;
    /** One tax invoice or credit note (another user's is a 404). */
    invoice: (invoiceId: string) => Promise<{
        buyer: components["schemas"]["PartyJson"];
        cgst: number;
        cgst_rate: number;
        currency: string;
        date: string;
        financial_year: string;
        fx_rate: string | null;
        igst: number;
        igst_rate: number;
        inr_value: number | null;
        invoice_id: string;
        invoice_number: string | null;
        issued_at: string;
        kind: "invoice" | "credit_note";
        lines: components["schemas"]["LineJson"][];
        lut_reference: string | null;
        number: string;
        order_id: string;
        pdf_url: string;
        place_of_supply: string;
        refund_id: string | null;
        seller: components["schemas"]["PartyJson"];
        sgst: number;
        sgst_rate: number;
        supply: components["schemas"]["Supply"];
        taxable_value: number;
        total: number;
        total_in_words: string;
        user_id: string;
    }>;
    /** One tax invoice or credit note as a PDF Blob (the same bytes every time). */
    invoicePdf: (invoiceId: string) => Promise<Blob>;
    /** The caller's billing details for invoices (a 404 until saved). */
    billingDetails: () => Promise<{
        address: string;
        country: string;
        gstin: string | null;
        name: string;
        state: string | null;
        state_name: string | null;
        updated_at: string;
        user_id: string;
    }>;
    /** Save the caller's billing details (name, address, state, optional GSTIN); used for
     * invoices of purchases paid after saving. A bad field is a 400 naming it. */
    saveBillingDetails: (details: BillingDetailsRequest, opts?: MutationOptions) => Promise<{
        address: string;
        country: string;
        gstin: string | null;
        name: string;
        state: string | null;
        state_name: string | null;
        updated_at: string;
        user_id: string;
    }>;
    /** Register this device's FCM token for the caller's push notifications (low balance). */
    registerDevice: (device: DeviceRegistration, opts?: MutationOptions) => Promise<{
        platform: components["schemas"]["Platform"];
        registered_at: string;
        token_suffix: string;
    }>;
    /** Live balance of whoever is signed in: a Firestore listener on their own user_credits
     * document, following sign-in and sign-out (null while nobody is signed in). Returns the
     * function that stops listening. */
    onBalance: (callback: (balance: LiveBalance | null) => void, onError?: (error: Error) => void) => () => void;
};
export {};
