/** The browser bundle: the SDK plus the Firebase functions a page needs, from the one copy of
 * Firebase the SDK uses (two copies of Firebase in a page do not share the signed-in user). */
export * from "./index.js";
export { initializeApp, getApp, getApps, type FirebaseApp } from "firebase/app";
export {
  connectAuthEmulator,
  getAuth,
  onAuthStateChanged,
  onIdTokenChanged,
  signInWithEmailAndPassword,
  createUserWithEmailAndPassword,
  signOut,
  type Auth,
  type User,
} from "firebase/auth";
export { connectFirestoreEmulator, getFirestore, type Firestore } from "firebase/firestore";
