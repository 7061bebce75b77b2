// The engine hands dynamic providers this sentinel for values not known yet
// (during preview). Kept here rather than imported from @pulumi/pulumi so the
// handlers load without the SDK's runtime.
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
