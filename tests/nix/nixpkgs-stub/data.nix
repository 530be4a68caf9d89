# INTERFACE TEST DOUBLE, never a build: where the nixpkgs contract stub reads cognix's data
# tables (apt-to-nixpkgs.toml, torch-cuda.toml, nixpkgs-pins.toml), so the stub follows
# them instead of copying them.
#
# Imported straight from the repository (nix-instantiate on tests/nix/nixpkgs-stub), the
# tables are read from ../../../cognix/data. Used as a flake input
# (`--override-input nixpkgs path:...`), Nix copies only the stub's own directory into the
# store, where ../../../ leads nowhere; Nix 2.8 has no `?dir=` for path: flakes and
# `import` of a git+file input ignores `dir`. So the tests give the flake a copy of this
# directory with the tables in ./cognix-data/ (tests/test_nix_stub.py, stub_flake_dir).
let
  copied = ./cognix-data;
in
name:
builtins.fromTOML (
  builtins.readFile (
    if builtins.pathExists copied then copied + "/${name}" else ../../../cognix/data + "/${name}"
  )
)
