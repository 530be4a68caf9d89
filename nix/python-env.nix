/**
  The image's Python: the nixpkgs interpreter of the lock's minor version with every locked
  wheel, through `python.buildEnv`, the interface that has stayed the same across the pins
  (23.11 to 26.05) while its wrapping of `bin/python` changed underneath.

  # Type

  ```
  pythonEnv :: { python; wheels; } -> Derivation
  ```

  Checked against nixpkgs pkgs/development/interpreters/python/wrapper.nix: `extraLibs` and
  `ignoreCollisions` are accepted at every pin read (see tests/nix/nixpkgs-stub/python.nix).
*/
{
  # The nixpkgs Python of the lock's minor version.
  python,
  # wheels.nix: { <package name> = Derivation; }.
  wheels,
}:
let
  inherit (builtins) attrNames map;
in
python.buildEnv.override {
  # In name order, so the env's inputs do not depend on the order of the lock.
  extraLibs = map (name: wheels.${name}) (attrNames wheels);
  # Wheels that ship the same file (namespace packages' __init__.py, licence files in
  # site-packages) would stop the env; pip would let the later one win too.
  ignoreCollisions = true;
}
