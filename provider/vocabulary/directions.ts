// The two directions of a rule (DESIGN §2).
export const DIRECTIONS = ["ingress", "egress"] as const;
export type Direction = (typeof DIRECTIONS)[number];
