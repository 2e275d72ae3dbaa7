import { type Auth } from "firebase/auth";
import { type Firestore } from "firebase/firestore";
/** The balance as the caller's own `user_credits/{uid}` document holds it, in credit units. */
export interface LiveBalance {
    readonly userId: string;
    readonly balance: number;
    readonly held: number;
    readonly available: number;
    /** When the last ledger entry was written; null for an account that has none yet. */
    readonly updatedAt: Date | null;
}
/** Listen to the signed-in user's balance document; re-listen when the user changes.
 *
 * The projection trigger writes the document after each ledger entry, so the callback fires a
 * moment after a purchase, a charge or a grant commits. Firestore rules let a user read only
 * their own document. Returns the function that stops listening. */
export declare function watchBalance(auth: Auth, db: Firestore, callback: (balance: LiveBalance | null) => void, onError?: (error: Error) => void): () => void;
