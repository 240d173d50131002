/** Types of scripts/bench/fixtures.mjs, for the tests that check the bench's inputs. */
export declare const SECRETS: Readonly<Record<string, string>>;
/** Source name (one per registered provider) → its source configuration. */
export declare const SOURCES: Readonly<Record<string, Record<string, unknown>>>;
export declare const PROVIDERS: readonly string[];
export interface BenchRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}
export declare function requests(
  provider: string,
  url: string,
  kind: "new" | "duplicate" | "forged",
  count: number,
  accounts?: number,
  firstAccount?: number,
): BenchRequest[];
