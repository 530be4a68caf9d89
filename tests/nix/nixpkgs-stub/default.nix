# INTERFACE TEST DOUBLE, never a build: the nixpkgs contract stub (DESIGN.md section 9).
#
# Generated flakes are evaluated against this directory with
# `--override-input nixpkgs path:<repo>/tests/nix/nixpkgs-stub`. It stands for
# `import nixpkgs { system; config; }` and has exactly what cognix's Nix library and the
# project flake use, each function rejecting any argument the real one does not take at
# every pin and returning a real but unbuildable derivation that records its arguments as
# `stubArgs`. Each file names the nixpkgs file and commit its interface was checked against;
# docs/nixpkgs-interfaces.md has the details.
{
  # Only x86_64-linux images are built (DESIGN.md section 4).
  system,
  # Only allowUnfreePredicate is used by cognix (to admit exactly its CUDA packages).
  config ? { },
}:
let
  checked = "pkgs/top-level/impure.nix (import nixpkgs { system; config; })";
  allowedConfig = [ "allowUnfreePredicate" ];
  unknownConfig = builtins.filter (n: !(builtins.elem n allowedConfig)) (
    builtins.attrNames config
  );
  validConfig =
    if !builtins.isAttrs config then
      throw "nixpkgs-stub: config must be an attribute set (stub of ${checked})"
    else if unknownConfig != [ ] then
      throw (
        "nixpkgs-stub: config key '${builtins.head unknownConfig}' is not used by cognix;"
        + " the stub takes only allowUnfreePredicate"
      )
    else if config ? allowUnfreePredicate && !builtins.isFunction config.allowUnfreePredicate then
      throw "nixpkgs-stub: config.allowUnfreePredicate must be a function"
    else if system != "x86_64-linux" then
      throw "nixpkgs-stub: system must be x86_64-linux, got ${system}"
    else
      config;

  common = import ./common.nix {
    inherit system;
    config = validConfig;
  };
  stdenvFile = import ./stdenv.nix { inherit common; };
  stdenv = stdenvFile.stdenv // {
    inherit (stdenvFile) mkDerivationWith standardAttrs;
  };
in
builtins.seq validConfig (
  import ./packages.nix { inherit common; }
  // import ./cuda.nix { inherit common; }
  // import ./python.nix { inherit common stdenv; }
  // import ./fetchurl.nix { inherit common; }
  // import ./trivial-builders.nix { inherit common stdenv; }
  // import ./buildenv.nix { inherit common; }
  // import ./mkshell.nix { inherit stdenv; }
  // import ./docker.nix { inherit common; }
  // {
    inherit (stdenvFile) stdenv;
  }
)
