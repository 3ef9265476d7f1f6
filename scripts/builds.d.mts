export declare const ROOT: string;
export declare function buildIfStale(options: {
  what: string;
  outDir: string;
  sources: readonly string[];
  args: readonly string[];
  settings?: Record<string, string | undefined>;
  env?: NodeJS.ProcessEnv;
}): void;
export declare function viteSettings(env?: NodeJS.ProcessEnv, envDir?: string): Record<string, string>;
export declare function buildStaffApp(env?: NodeJS.ProcessEnv): void;
export declare function buildServer(): string;
