import { onAuthStateChanged, type Auth } from "firebase/auth";
import { doc, onSnapshot, type Firestore, type Timestamp } from "firebase/firestore";

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
export function watchBalance(
  auth: Auth,
  db: Firestore,
  callback: (balance: LiveBalance | null) => void,
  onError: (error: Error) => void = (error) => console.error("onBalance:", error),
): () => void {
  let stopDocument: (() => void) | null = null;
  const stopAuth = onAuthStateChanged(auth, (user) => {
    stopDocument?.();
    stopDocument = null;
    if (user === null) {
      callback(null);
      return;
    }
    stopDocument = onSnapshot(
      doc(db, "user_credits", user.uid),
      (snapshot) => {
        // Offline before the server ever answered: a missing document here says nothing (it is
        // not a zero balance), so wait for the server.
        if (snapshot.metadata.fromCache && !snapshot.exists()) return;
        callback(toLiveBalance(user.uid, snapshot.data()));
      },
      onError,
    );
  });
  return () => {
    stopAuth();
    stopDocument?.();
  };
}

function toLiveBalance(userId: string, data: Record<string, unknown> | undefined): LiveBalance {
  const balance = integer(data?.["balance"]);
  const held = integer(data?.["held"]);
  const updatedAt = data?.["updated_at"] as Timestamp | undefined | null;
  return {
    userId,
    balance,
    held,
    available: data?.["available"] === undefined ? balance - held : integer(data["available"]),
    updatedAt: updatedAt ? updatedAt.toDate() : null,
  };
}

function integer(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) ? value : 0;
}
