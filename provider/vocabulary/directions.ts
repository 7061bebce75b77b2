// The two directions of a rule (docs/semantics.md#ingress, #egress).
export const DIRECTIONS = ["ingress", "egress"] as const;
export type Direction = (typeof DIRECTIONS)[number];
