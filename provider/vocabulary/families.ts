// Address families: IPv4 and IPv6.
export type Family = 4 | 6;
export const FAMILIES: readonly Family[] = [4, 6];
