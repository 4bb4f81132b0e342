/** JSON values as stored in CDR metadata and call events (same shape as the store's, declared here so call owns it). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
