import { defineConfig } from "vitest/config";

// Integration tests: the SDK against a real local stack (gateway, Auth and Firestore emulators,
// Razorpay sandbox, localstripe). tests/e2e/test_web_sdk.py starts the stack and runs these with
// the environment they read (test/integration/stack.ts).
export default defineConfig({
  test: {
    include: ["test/integration/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
