# The project as Cog's `COPY . /src` sees it, in plain `builtins` (no nixpkgs). This file owns
# choosing which files of the project go into the image's `/src`: those that BuildKit would send
# as the build context under the project's `.dockerignore` (see ./dockerignore.nix), less the
# top-level names cognix itself never ships.
let
  dockerignore = import ./dockerignore.nix;
in
/**
  The project directory filtered like Docker's build context, as a store path named "source".

  A file ignored by `.dockerignore` is left out. An ignored directory is left out whole, unless
  an exception (`!`) might bring back something below it, as fsutil's walk decides; it is then
  kept (maybe empty) and each entry below it is decided on its own.

  # Inputs

  `root`
  : the project directory (a path)

  `ignoreFile`
  : the `.dockerignore` to apply; none when the file does not exist. Default:
    `root + "/.dockerignore"`

  `alwaysExcluded`
  : top-level names left out whatever `.dockerignore` says, each a `.dockerignore`-style
    pattern for one name (`result-*` leaves out every top-level name starting with `result-`).
    Default: `[ ]`
*/
{
  root,
  ignoreFile ? root + "/.dockerignore",
  alwaysExcluded ? [ ],
}:
let
  rules =
    if builtins.pathExists ignoreFile then
      dockerignore.parse (builtins.readFile ignoreFile)
    else
      [ ];
  excludedNames = map dockerignore.patternToRegex alwaysExcluded;
  prefixLength = builtins.stringLength (toString root) + 1;
  relative = path: builtins.substring prefixLength (builtins.stringLength path) path;
  topName = path: builtins.head (builtins.split "/" path);
  keep =
    path: type:
    let
      name = relative path;
      top = topName name;
    in
    if builtins.any (regex: builtins.match regex top != null) excludedNames then
      false
    else if !dockerignore.isIgnored rules name then
      true
    else
      type == "directory" && dockerignore.walksInto rules name;
in
builtins.path {
  path = root;
  name = "source";
  filter = keep;
}
