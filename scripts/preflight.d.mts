/** Types of scripts/preflight.mjs for the tests that import it. */
export interface PreflightResult {
  /** One line per problem: a deploy must not go ahead. */
  problems: string[];
  /** Placeholders allowed by --allow-placeholders. */
  notes: string[];
  /** Every secret the configuration names (ORIGIN_SECRET, ADMIN_TOKEN unless --no-admin, each source's). */
  secrets: string[];
}

export function checkConfig(
  config: Record<string, unknown>,
  options?: { allowPlaceholders?: boolean; noAdmin?: boolean; secretNames?: string[] },
): PreflightResult;

export function listSecrets(options: { config: string; env?: string }): string[];
