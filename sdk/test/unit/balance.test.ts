import { beforeEach, describe, expect, it, vi } from "vitest";

// Firebase stand-ins: the test drives sign-in and snapshots by hand.
const firebase = vi.hoisted(() => ({
  authListener: null as null | ((user: { uid: string } | null) => void),
  snapshotListener: null as null | ((snapshot: unknown) => void),
  watched: [] as string[],
  stopped: [] as string[],
}));

vi.mock("firebase/auth", () => ({
  onAuthStateChanged: (_auth: unknown, listener: (user: { uid: string } | null) => void) => {
    firebase.authListener = listener;
    return () => firebase.stopped.push("auth");
  },
}));
vi.mock("firebase/firestore", () => ({
  doc: (_db: unknown, collection: string, id: string) => `${collection}/${id}`,
  onSnapshot: (path: string, listener: (snapshot: unknown) => void) => {
    firebase.watched.push(path);
    firebase.snapshotListener = listener;
    return () => firebase.stopped.push(path);
  },
}));

const { watchBalance } = await import("../../src/balance.js");

function snapshot(data: Record<string, unknown> | undefined, fromCache = false) {
  return { data: () => data, exists: () => data !== undefined, metadata: { fromCache } };
}

describe("onBalance", () => {
  beforeEach(() => {
    firebase.watched = [];
    firebase.stopped = [];
  });

  it("listens to the signed-in user's own document and maps it", () => {
    const seen: unknown[] = [];
    watchBalance({} as never, {} as never, (live) => seen.push(live));
    firebase.authListener!({ uid: "u1" });
    expect(firebase.watched).toEqual(["user_credits/u1"]);
    const at = new Date("2026-11-30T17:40:25Z");
    firebase.snapshotListener!(
      snapshot({ balance: 900, held: 100, available: 800, updated_at: { toDate: () => at } }),
    );
    expect(seen).toEqual([
      { userId: "u1", balance: 900, held: 100, available: 800, updatedAt: at },
    ]);
  });

  it("a missing document is a zero balance, but not while offline before the server answered", () => {
    const seen: unknown[] = [];
    watchBalance({} as never, {} as never, (live) => seen.push(live));
    firebase.authListener!({ uid: "u1" });
    firebase.snapshotListener!(snapshot(undefined, true)); // offline: says nothing
    expect(seen).toEqual([]);
    firebase.snapshotListener!(snapshot(undefined, false));
    expect(seen).toEqual([{ userId: "u1", balance: 0, held: 0, available: 0, updatedAt: null }]);
  });

  it("follows sign-out and sign-in, and stops everything when asked", () => {
    const seen: unknown[] = [];
    const stop = watchBalance({} as never, {} as never, (live) => seen.push(live));
    firebase.authListener!({ uid: "u1" });
    firebase.authListener!(null);
    expect(seen).toEqual([null]);
    expect(firebase.stopped).toEqual(["user_credits/u1"]);
    firebase.authListener!({ uid: "u2" });
    expect(firebase.watched).toEqual(["user_credits/u1", "user_credits/u2"]);
    stop();
    expect(firebase.stopped).toEqual(["user_credits/u1", "auth", "user_credits/u2"]);
  });
});
