// The common-password list alone (lib/invites/password.ts): the package's index also
// unpacks its diceware list and keyboard graphs, which nothing here uses.
declare module '@zxcvbn-ts/language-common/dist/passwords.json.mjs' {
  /** Most common first. */
  const passwords: string[];
  export default passwords;
}
