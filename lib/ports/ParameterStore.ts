/** What a deploy needs to know about SSM Parameter Store: which parameters exist (never their values). */
export interface ParameterStore {
  /** The type (`SecureString`, `String`, ...) of each of `names` that exists; missing ones are absent. */
  types(names: string[]): Promise<Map<string, string>>;
}
