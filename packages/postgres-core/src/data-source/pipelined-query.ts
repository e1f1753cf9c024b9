/** One statement sent ahead of (or after) the user's statements in the same round trip. */
export interface PreludeStatement {
  /** SQL text; values are bound (`$1`…), never interpolated. */
  readonly text: string;
  /** Bound values (strings or null). */
  readonly values: ReadonlyArray<string | null>;
  /** Name of a server-side prepared statement (parsed once per connection), or undefined for the unnamed one. */
  readonly name?: string;
}
