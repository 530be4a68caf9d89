# INTERFACE TEST DOUBLE, never a build: `buildEnv` of the nixpkgs contract stub
# (DESIGN.md section 9).
#
# Checked against pkgs/build-support/buildenv/default.nix @
# 010375ac6ad4d6c710a60a88661a6dd7d04e9fe1 (recent: lib.extendMkDerivation, no ellipsis) and
# @ fdebd3d105ec65a4ea6c339c22b016b40d33653f (an older plain-function version, no ellipsis,
# `name` required). The pinned commits are not stored. The stub takes the arguments both
# versions have, which are the ones every pin has:
#   name                          required (recent versions also allow pname + version)
#   paths                         required: the packages to symlink
#   manifest ? ""
#   ignoreCollisions ? false
#   checkCollisionContents ? true
#   pathsToLink ? [ "/" ]
#   extraOutputsToInstall ? [ ]
#   extraPrefix ? ""
#   postBuild ? ""
#   nativeBuildInputs, buildInputs   (recent: null, forwarded to mkDerivation)
#   passthru ? { }, meta ? { }
# Newer than some pins, so refused: ignoreSingleFileOutputs, includeClosures, derivationArgs,
# pname, version.
{ common }:
let
  checked =
    "pkgs/build-support/buildenv/default.nix @ 010375ac6ad4d6c710a60a88661a6dd7d04e9fe1"
    + " and @ fdebd3d105ec65a4ea6c339c22b016b40d33653f (arguments common to all pins)";

  buildEnv =
    given:
    let
      fn = "buildEnv";
      args = common.checkArgs {
        inherit fn checked;
        allowed = [
          "name"
          "paths"
          "manifest"
          "ignoreCollisions"
          "checkCollisionContents"
          "pathsToLink"
          "extraOutputsToInstall"
          "extraPrefix"
          "postBuild"
          "nativeBuildInputs"
          "buildInputs"
          "passthru"
          "meta"
        ];
        required = [
          "name"
          "paths"
        ];
        args = given;
      };
    in
    common.mkStubDrv {
      inherit fn args;
      name = common.checkType fn "name" "string" args.name;
      passthru = (args.passthru or { }) // {
        meta = args.meta or { };
        paths = common.checkType fn "paths" "list" args.paths;
      };
    };
in
{
  inherit buildEnv;
}
