import type { MerkleLogStore } from "../../src/audit/log-store.ts";
import { MemoryLogStore } from "../../src/audit/memory-log-store.ts";
import { runStoreConformance } from "./store-conformance.ts";

runStoreConformance("MemoryLogStore", {
  create: async (): Promise<MerkleLogStore> => new MemoryLogStore(),
  dispose: async () => {},
});
