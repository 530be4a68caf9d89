/**
  The system packages of the image: the nixpkgs attributes the lock mapped each apt name
  to, plus cognix.toml's `[image] extra-nixpkgs`. Runtime packages go into the image; build
  tools (gcc, make, pkg-config…) only into `nix develop`, since a wheels-only image runs
  without them; CUDA packages are handled by cuda.nix.

  # Type

  ```
  system :: AttrSet
    -> { runtime :: [Derivation]; buildTools :: [Derivation]; libraryPath :: [String]; }
  ```
*/
{
  # The nixpkgs package set of the pin.
  pkgs,
  # attributes.nix, applied to pkgs.
  attributes,
  # The lock's system packages: [ { apt; nixpkgs = [ path ]; kind; } ].
  systemPackages,
  # Packages asked for elsewhere: [ { origin = "cog.yaml run item, line 12"; attribute; } ],
  # from cognix.toml `[image] extra-nixpkgs` and the `nixpkgs` run steps.
  extraAttributes,
}:
let
  inherit (builtins)
    concatMap
    elem
    filter
    foldl'
    map
    ;

  packagesOfKind =
    kind:
    concatMap (entry: map (attributes.byPath "apt package ${entry.apt}") entry.nixpkgs) (
      filter (entry: entry.kind == kind) systemPackages
    );

  runtime =
    packagesOfKind "runtime"
    ++ map (extra: attributes.byPath extra.origin extra.attribute) extraAttributes;
in
{
  inherit runtime;
  buildTools = packagesOfKind "build-tool";
  # The library folders that LD_LIBRARY_PATH and the library check use, in lock order. A
  # package's libraries are in its `lib` output where it has one, else in `out`, whichever
  # output the mapping named (ffmpeg.bin, openssl's default `bin`), each folder once.
  libraryPath =
    foldl' (folders: folder: if elem folder folders then folders else folders ++ [ folder ])
      [ ]
      (map (package: "${package.lib or package.out or package}/lib") runtime);
}
