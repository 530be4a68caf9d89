/**
  Find nixpkgs packages by the attribute paths the lock names (`ffmpeg`, `glib.out`,
  `xorg.libX11`), with an error that says which lock entry asked for a missing one.

  # Type

  ```
  attributes :: { pkgs :: AttrSet } -> { byPath :: String -> String -> Derivation; ... }
  ```

  # Example

  ```nix
  (import ./attributes.nix { inherit pkgs; }).byPath "apt package libgl1" "mesa.drivers"
  => «derivation mesa-drivers»
  ```
*/
{
  # The nixpkgs package set of the pin.
  pkgs,
}:
let
  inherit (builtins)
    filter
    foldl'
    hasAttr
    isString
    split
    ;

  segments = path: filter isString (split "[.]" path);
in
{
  /**
    The package at attribute `path` of the pinned nixpkgs.

    # Inputs

    `origin`
    : what asked for it, for the error message ("apt package libgl1")

    `path`
    : a dotted attribute path, "glib.out"
  */
  byPath =
    origin: path:
    foldl' (
      found: name:
      if hasAttr name found then
        found.${name}
      else
        throw (
          "cognix: the pinned nixpkgs has no attribute `${path}` (asked for by ${origin}); "
          + "run `cognix lock --upgrade` or change the mapping in cognix.toml"
        )
    ) pkgs (segments path);

  /**
    The package name an attribute path stands for, without its output: the name nixpkgs'
    unfree check sees. "cudaPackages_12_1.libcublas.lib" => "libcublas".
  */
  packageName =
    path:
    let
      parts = segments path;
      outputs = [
        "out"
        "lib"
        "dev"
        "bin"
        "static"
      ];
      withoutOutput = filter (part: !(builtins.elem part outputs)) parts;
    in
    builtins.elemAt withoutOutput (builtins.length withoutOutput - 1);
}
