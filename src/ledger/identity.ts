/**
 * What a ledger object is, as it records in its `_meta` table: the (source, account) it serves
 * and its role. One class serves three roles (src/object-names.ts names them):
 * - `account`: one provider account's claims, nonces and outbox (`{source}/{account}`);
 * - `quarantine`: a source's verified callbacks the adapters could not read (`{source}/~quarantine`);
 * - `stats`: a source's counters (`{source}/~stats`).
 * The role is recorded by the object's first write of its kind (a claim, a quarantined
 * callback, a counters flush), and from then on the methods of another role refuse to run on
 * it (reads of the event table answer on any object). Objects written before roles existed have none recorded yet: reads work on them as
 * before, and their first write records it; the object names keep each object to one kind of
 * write, so that first write is the right one.
 */
import type { LedgerStorage } from "./storage";

export type Role = "account" | "quarantine" | "stats";

export interface Identity {
  readonly source: string;
  readonly account: string;
}

/** A method called on an object of another role: a bug in the caller, never retried into success. */
export class WrongRoleError extends Error {
  override readonly name = "WrongRoleError";
}

export class ObjectIdentity {
  /** Read once per wake and kept: none of these change once written. */
  private known: Identity | undefined;
  private recordedRole: Role | null | undefined;
  private legacyIds: boolean | undefined;

  constructor(private readonly storage: LedgerStorage) {}

  /** Drops what memory holds, to be read again from storage (after a transaction rolled back). */
  forget(): void {
    this.known = undefined;
    this.recordedRole = undefined;
    this.legacyIds = undefined;
  }

  private meta(key: string): string | undefined {
    return this.storage.rows<{ value: string }>("SELECT value FROM _meta WHERE key = ?", key)[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.storage.run("INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }

  /** The (source, account) this object serves, once a claim or a quarantined callback named it. */
  get(): Identity | undefined {
    if (this.known === undefined) {
      const source = this.meta("source");
      const account = this.meta("account");
      if (source !== undefined && account !== undefined) this.known = { source, account };
    }
    return this.known;
  }

  role(): Role | undefined {
    if (this.recordedRole === undefined) this.recordedRole = (this.meta("role") as Role | undefined) ?? null;
    return this.recordedRole ?? undefined;
  }

  /** Throws unless this object may serve `method` of one of `roles` (an object with no role yet may). */
  check(method: string, ...roles: Role[]): void {
    const role = this.role();
    if (role !== undefined && !roles.includes(role)) {
      throw new WrongRoleError(`ledger ${method}() belongs to the ${roles.join(" or ")} role; this object has the ${role} role`);
    }
  }

  /** Records the role on the object's first write of its kind, after checking it. */
  claim(method: string, role: Role): void {
    this.check(method, role);
    if (this.role() === undefined) {
      this.setMeta("role", role);
      this.recordedRole = role;
    }
  }

  /** Records the (source, account) on the first write that names them. */
  remember(source: string, account: string): void {
    if (this.get() === undefined) {
      this.setMeta("source", source);
      this.setMeta("account", account);
      this.known = { source, account };
    }
  }

  /** Whether this object holds events stored under 0.1 ids (schema migration 4 marks them). */
  holdsLegacyIds(): boolean {
    this.legacyIds ??= this.meta("legacy_ids") === "1";
    return this.legacyIds;
  }
}
