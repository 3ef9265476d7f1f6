export declare const ROOT: string;
export declare function newestMtime(path: string): number;
export declare function buildIfStale(what: string, output: string, sources: readonly string[], args: readonly string[]): string;
export declare function buildStaffApp(): string;
export declare function buildServer(): string;
