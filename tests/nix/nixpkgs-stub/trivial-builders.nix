# INTERFACE TEST DOUBLE, never a build: `runCommand` and `writeText` of the nixpkgs
# contract stub (DESIGN.md section 9).
#
# Checked against pkgs/build-support/trivial-builders/default.nix @
# 00ee9b64aafebe333c3e33ffb093734092158728 (nixfmt-era, recent) and @
# 77d57157d61d28d9f8948f4fe7c6e3c7a78d5338 (24.x era); the pinned commits are not stored.
# Both have the same interface:
#   runCommand name env buildCommand  - curried; env is mkDerivation attributes
#                                       (runCommandWith { stdenv = stdenvNoCC; ... })
#   writeText name text               - text should be a string (a non-string is deprecated)
#
# STRICTER THAN NIXPKGS: `env` may hold only the standard mkDerivation attributes the stub's
# stdenv.mkDerivation takes (put builder variables under `env.env`), and writeText's text
# must be a string (nixpkgs still converts other values, with a deprecation warning).
{ common, stdenv }:
let
  checked =
    "pkgs/build-support/trivial-builders/default.nix @ 00ee9b64aafebe333c3e33ffb093734092158728";

  # runCommand name env buildCommand
  #   name         - string, the derivation name
  #   env          - attribute set of mkDerivation attributes (nativeBuildInputs, passthru,
  #                  meta, env, ...)
  #   buildCommand - string, the script; it must create $out
  runCommand =
    name: env: buildCommand:
    let
      fn = "runCommand";
      checkedEnv = common.checkArgs {
        inherit fn checked;
        allowed = stdenv.standardAttrs;
        args = common.checkType fn "env (second argument)" "set" env;
      };
      args = {
        name = common.checkType fn "name (first argument)" "string" name;
        env = checkedEnv;
        buildCommand = common.checkType fn "buildCommand (third argument)" "string" buildCommand;
      };
    in
    common.mkStubDrv {
      inherit fn name args;
      outputs = checkedEnv.outputs or [ "out" ];
      passthru = (checkedEnv.passthru or { }) // {
        meta = checkedEnv.meta or { };
      };
    };

  # writeText name text
  #   name - string, the file's store name
  #   text - string, the file's contents
  writeText =
    name: text:
    let
      fn = "writeText";
    in
    common.mkStubDrv {
      inherit fn;
      name = common.checkType fn "name (first argument)" "string" name;
      args = {
        inherit name;
        text = common.checkType fn "text (second argument)" "string" text;
      };
    };
in
{
  inherit runCommand writeText;
}
