import type { BuildResult, Plugin } from "esbuild";
export const webStandardsOnly: Plugin;
export function bundleVerify(options?: {
  minify?: boolean;
  write?: boolean;
}): Promise<BuildResult<{ metafile: true; write: boolean }> & { outputFiles: { text: string; contents: Uint8Array }[] }>;
