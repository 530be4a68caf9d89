/**
  What a cognix project has decided, read from the files `cognix generate` wrote: the lock
  (`pylock.toml`, PEP 751 with a `[tool.cognix]` table) and `.cognix/project.json` (what
  cog.yaml and cognix.toml say about the image). Both are read with builtins at evaluation
  time; nothing is built to read them (no import-from-derivation).

  # Type

  ```
  lock :: { root :: Path } -> AttrSet
  ```

  # Example

  ```nix
  (import ./lock.nix { root = ./.; }).target
  => { platform = "x86_64-manylinux_2_28"; python = "3.11"; }
  ```
*/
{
  # The project folder: the one holding cog.yaml, pylock.toml and .cognix/.
  root,
}:
let
  inherit (builtins)
    fromJSON
    fromTOML
    pathExists
    readFile
    ;

  lockPath = root + "/pylock.toml";
  projectPath = root + "/.cognix/project.json";

  pylock =
    if pathExists lockPath then
      fromTOML (readFile lockPath)
    else
      throw "cognix: ${toString root} has no pylock.toml; run `cognix lock` there";

  tool =
    pylock.tool.cognix
      or (throw (
        "cognix: pylock.toml has no [tool.cognix] table; "
        + "it was not written by `cognix lock`"
      ));

  supportedLockVersion = 1;
in
assert
  tool.lock-version == supportedLockVersion
  || throw (
    "cognix: pylock.toml has lock-version ${toString tool.lock-version}; this Nix library "
    + "reads version ${toString supportedLockVersion}: run `cognix generate` again"
  );
{
  # The PEP 751 packages, each with `name`, `version`, `wheels` and `dependencies`.
  packages = pylock.packages or [ ];

  # { python = "3.11"; platform = "x86_64-manylinux_2_28"; }
  inherit (tool) target;

  # The nixpkgs pin: branch, rev, nar-hash, last-modified, python-attr.
  inherit (tool) nixpkgs;

  # { version; cudnn; source; } for GPU images whose CUDA is known, else null.
  cuda = tool.cuda or null;

  # [ { apt; nixpkgs = [ attribute paths ]; kind; } ]
  systemPackages = tool.system-packages or [ ];

  # Run steps in cog.yaml order: download, shell and nixpkgs steps.
  runSteps = tool.run or [ ];

  # The cog SDK version, for the run.cog.version label.
  cogVersion = tool.cog.sdk or "";

  # What cog.yaml says about the image; see cognix/nixgen for its fields.
  project =
    if pathExists projectPath then
      fromJSON (readFile projectPath)
    else
      throw "cognix: ${toString root}/.cognix/project.json is missing; run `cognix generate`";
}
