/**
 * What a failed Durable Object call means for the provider and for the operator, read from the
 * properties Cloudflare documents on such errors (developers.cloudflare.com/durable-objects/
 * best-practices/error-handling/):
 * - `overloaded: true`: the object (or the infrastructure in front of it) is shedding load;
 *   retrying soon makes it worse, so the provider is asked to wait longer;
 * - `retryable: true`: a transient failure; the runtime has already retried the call
 *   (automatic retries, up to five attempts), so the provider is asked to come back soon;
 * - `remote: true`: thrown by the ledger's own code (a bug, or SQLite refusing a statement,
 *   e.g. `SQLITE_TOOBIG`); otherwise it came from the platform or the Worker itself.
 * In every case nothing was acked: the reply is 503 and the provider retries.
 */
import type { LogFields, LogLevel } from "./log";

export type StorageErrorKind = "overloaded" | "retryable" | "other";

/** Retry-After (seconds) per kind: longer when the platform says it is overloaded. */
export const RETRY_AFTER_SECONDS: Readonly<Record<StorageErrorKind, number>> = {
  overloaded: 120,
  retryable: 10,
  other: 30,
};

/** A transient or load-shedding failure is degraded service; anything else needs a person. */
const LEVEL: Readonly<Record<StorageErrorKind, LogLevel>> = { overloaded: "warn", retryable: "warn", other: "error" };

/** Error messages are logged up to this many characters (a line stays readable and bounded). */
export const MESSAGE_LIMIT = 300;

export interface StorageFailure {
  readonly kind: StorageErrorKind;
  readonly retryAfterSeconds: number;
  readonly level: LogLevel;
  /**
   * For the log line: the error's name, its message (bounded), the three flags, and who threw
   * it. Never a secret: the ledger's errors carry SQL states and identifiers, not payloads or
   * keys, and the request body is never part of an error the gateway raises.
   */
  readonly fields: LogFields;
}

function flag(err: unknown, name: "overloaded" | "retryable" | "remote"): boolean {
  return typeof err === "object" && err !== null && (err as Record<string, unknown>)[name] === true;
}

/** Classifies an error thrown by a Durable Object call (or anything else thrown on the storage path). */
export function storageFailure(err: unknown): StorageFailure {
  const overloaded = flag(err, "overloaded");
  const retryable = flag(err, "retryable");
  const remote = flag(err, "remote");
  const kind: StorageErrorKind = overloaded ? "overloaded" : retryable ? "retryable" : "other";
  const name = err instanceof Error ? err.name : "Error";
  const message = err instanceof Error ? err.message : String(err);
  return {
    kind,
    retryAfterSeconds: RETRY_AFTER_SECONDS[kind],
    level: LEVEL[kind],
    fields: {
      error: name,
      message: message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}…` : message,
      overloaded,
      retryable,
      remote,
      // The flags are set only by the platform; an error with none of them and no `remote` may
      // come from the platform or from the Worker's own code on the storage path.
      thrownBy: remote ? "ledger" : overloaded || retryable ? "platform" : "unknown",
    },
  };
}
