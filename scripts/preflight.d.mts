/** Types of scripts/preflight.mjs for the tests that import it. */
export interface PreflightResult {
  /** One line per problem: a deploy must not go ahead. */
  problems: string[];
  /** Placeholders allowed by --allow-placeholders. */
  notes: string[];
  /** Every secret the configuration names (ORIGIN_SECRET unless every source names its own keys or ORIGIN_SIGNING_KEY is set, ADMIN_TOKEN unless --no-admin, each source's, its originSecret / originSigningKey). */
  secrets: string[];
}

export function checkConfig(
  config: Record<string, unknown>,
  options?: { allowPlaceholders?: boolean; noAdmin?: boolean; secretNames?: string[] },
): PreflightResult;

export function listSecrets(options: { config: string; env?: string }): string[];
