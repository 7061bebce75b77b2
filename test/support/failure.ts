// The message of an operation that must fail (a preview or up the test expects refused).
export async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as Error).message);
  }
  throw new Error("expected the operation to fail");
}
