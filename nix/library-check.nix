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
  # Sonames left to run time or never loaded (.cognix/project.json `libraries-left-out`).
  allowedMissing,
}:
let
  inherit (builtins) attrNames concatStringsSep map;

  checker = pkgs.python3;
  roots = map (name: "${wheels.${name}}") (attrNames wheels);
  # What every image has, as the lock-time check assumes (cognix/resolve/native.py
  # BASELINE_SONAMES): glibc, gcc's runtime libraries, zlib and libcrypt.
  baseLibraries = map (package: "${package}/lib") [
    pkgs.glibc
    pkgs.stdenv.cc.cc.lib
    pkgs.zlib
    pkgs.libxcrypt
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
