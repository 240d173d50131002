/** Types of scripts/lib/import-ts.mjs: imports a TypeScript module of this project, bundled by esbuild. */
// biome-ignore lint/suspicious/noExplicitAny: the module's exports are whatever the bundled file exports.
export declare function importTs(path: string): Promise<any>;
