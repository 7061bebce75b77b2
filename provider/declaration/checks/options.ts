// Fleet-wide options: the table name and the failsafe.
import { DEFAULT_TABLE, NFT_RESERVED_WORDS, TABLE_NAME_PATTERN } from "../../compiler/nftNames";
import { type CheckContext, type Obj, isObj } from "./context";

export function checkTable(ctx: CheckContext, decl: Obj): void {
  const table = decl["table"];
  if (typeof table !== "string") return;
  if (!TABLE_NAME_PATTERN.test(table)) {
    ctx.add(
      "table",
      `table name ${JSON.stringify(table)} is not a safe nft identifier; use 1-32 characters: lower-case letters, digits and "_", starting with a letter (e.g. "${DEFAULT_TABLE}")`,
    );
  } else if (NFT_RESERVED_WORDS.has(table)) {
    ctx.add("table", `table name ${JSON.stringify(table)} is an nft keyword; choose another, e.g. "${DEFAULT_TABLE}_${table}"`);
  }
}

export function checkFailsafe(ctx: CheckContext, decl: Obj): void {
  const failsafe = decl["failsafe"];
  if (!isObj(failsafe)) return;
  const cidrs = failsafe["cidrs"];
  if (!Array.isArray(cidrs)) return;
  if (failsafe["ssh"] === false) {
    ctx.add("failsafe.cidrs", "has no effect when failsafe.ssh is false; remove cidrs or enable the failsafe");
  }
  if (cidrs.length === 0) {
    ctx.add("failsafe.cidrs", "is empty; omit it to allow SSH from anywhere, or set failsafe.ssh: false to disable the failsafe");
  }
  cidrs.forEach((c, k) => {
    if (typeof c !== "string") return;
    const p = ctx.parsePrefix(c);
    if (!p.ok) ctx.add(`failsafe.cidrs[${k}]`, p.message);
  });
}
