/**
  The image's library check: a derivation that fails, naming each file and library, when an
  ELF file of a locked wheel needs a library that neither its RUNPATH nor the image's
  LD_LIBRARY_PATH provides. Only the GPU driver's libraries may be missing. The image
  depends on this derivation, so a failing check stops the build.

  # Type

  ```
  libraryCheck :: AttrSet -> Derivation
  ```
*/
{
  # The nixpkgs package set of the pin; its python3 (3.11 or newer at every pin) runs the
  # check with its pyelftools.
  pkgs,
  # wheels.nix: { <package name> = Derivation; }.
  wheels,
  # Folders the image's LD_LIBRARY_PATH holds.
  libraryPath,
  # Sonames left to run time (cuda.nix `driverLibraries`).
  allowedMissing,
}:
let
  inherit (builtins) attrNames concatStringsSep map;

  checker = pkgs.python3;
  roots = map (name: "${wheels.${name}}") (attrNames wheels);
  # The C library and the C++ runtime, which every process of the image can load.
  baseLibraries = [
    "${pkgs.glibc}/lib"
    "${pkgs.stdenv.cc.cc.lib}/lib"
  ];
in
pkgs.runCommand "cognix-library-check" { } ''
  PYTHONPATH=${checker.pkgs.pyelftools}/${checker.sitePackages} \
    ${checker.interpreter} ${./check-libraries.py} \
    --search ${concatStringsSep " " (baseLibraries ++ libraryPath)} \
    --allow ${concatStringsSep " " allowedMissing} \
    -- ${concatStringsSep " " roots}
  echo "every library of ${toString (builtins.length roots)} wheels is provided" > $out
''
