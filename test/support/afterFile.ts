// Runs in every test file before its own code (vitest setupFiles): its
// afterAll is registered first, so it runs after the file's own afterAll
// hooks (the stacks are destroyed by then).
import { afterAll } from "vitest";
import { removeCreatedEngineDirs } from "./engine";

afterAll(removeCreatedEngineDirs);
