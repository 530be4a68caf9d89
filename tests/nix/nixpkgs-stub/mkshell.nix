# INTERFACE TEST DOUBLE, never a build: `mkShell` of the nixpkgs contract stub
# (DESIGN.md section 9).
#
# Checked against pkgs/build-support/mkshell/default.nix @
# 99bf2f7c4215e8cebda6f3d6b80ad570864e102c (recent, nixfmt) and @
# 07c91341fd6e5f2ca8d0a6d62e6d0e1ecc94283d (older); the pinned commits are not stored. Both
# take the same arguments and pass the rest (`...`) to stdenv.mkDerivation:
#   name ? "nix-shell"
#   packages ? [ ]        added to nativeBuildInputs
#   inputsFrom ? [ ]      derivations whose inputs the shell gets
#   buildInputs, nativeBuildInputs, propagatedBuildInputs, propagatedNativeBuildInputs ? [ ]
#   shellHook             concatenated with the inputsFrom shellHooks
#   ...                   any mkDerivation attribute
#
# STRICTER THAN NIXPKGS: the `...` is limited to the standard attributes of the stub's
# stdenv.mkDerivation (see stdenv.nix).
{ stdenv }:
let
  mkShell = stdenv.mkDerivationWith {
    fn = "mkShell";
    extraChecked =
      "pkgs/build-support/mkshell/default.nix @ 99bf2f7c4215e8cebda6f3d6b80ad570864e102c";
    extraAllowed = [
      "packages"
      "inputsFrom"
      "shellHook"
    ];
    defaultName = "nix-shell";
  };
in
{
  inherit mkShell;
}
