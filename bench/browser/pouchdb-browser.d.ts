// The slice of PouchDB's API the bench page uses (pouchdb-browser ships no types).
declare module 'pouchdb-browser' {
  interface Row {
    id: string;
    key: unknown;
    doc?: Record<string, unknown>;
  }
  interface Database {
    put(doc: object): Promise<unknown>;
    bulkDocs(docs: object[]): Promise<({ ok: true; id: string } | { error: string; id?: string })[]>;
    query(view: string, options: { key?: unknown; include_docs?: boolean; limit?: number }): Promise<{ rows: Row[] }>;
    allDocs(options: { include_docs?: boolean }): Promise<{ rows: Row[] }>;
    close(): Promise<void>;
  }
  const PouchDB: new (name: string) => Database;
  export default PouchDB;
}
