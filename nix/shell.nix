/**
  Quoting for the bash scripts the library writes, so a value from the lock or cog.yaml is
  always one word, whatever it holds.

  # Example

  ```nix
  (import ./shell.nix).quote "it's"
  => "'it'\\''s'"
  ```
*/
let
  inherit (builtins) concatStringsSep map replaceStrings;

  quote = text: "'" + replaceStrings [ "'" ] [ "'\\''" ] text + "'";
in
{
  /** A string quoted for bash: one word, no expansion. */
  inherit quote;

  /** A list of strings quoted and joined by spaces: a bash command line. */
  quoteAll = words: concatStringsSep " " (map quote words);
}
