import { defineConfig } from "vitest/config";

// Unit tests: our own logic against a fake fetch; no network, no emulator.
export default defineConfig({
  test: { include: ["test/unit/**/*.test.ts"], environment: "node" },
});
