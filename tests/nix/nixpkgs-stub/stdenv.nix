# INTERFACE TEST DOUBLE, never a build: `stdenv` of the nixpkgs contract stub
# (DESIGN.md section 9), with `stdenv.mkDerivation` and `stdenv.cc.cc.lib`.
#
# Checked against pkgs/stdenv/generic/make-derivation.nix @
# 000b58721fef0d1cf693a6f2f4fa442b66fbe2bb (the stored version that was read; a 24.05-era
# file, with makeDerivationArgument, `env` and `__structuredAttrs`; the pinned commits are
# not stored) and, for the autoPatchelf attributes, pkgs/build-support/setup-hooks/
# auto-patchelf.sh @ a2ff8c71b155be2e4662ded9cd92f08d0c848598.
#
# STRICTER THAN NIXPKGS ON PURPOSE: real mkDerivation takes any attribute (unknown ones
# become builder environment variables). The stub takes only the standard attributes
# listed below and throws naming any other, so a misspelt phase or hook attribute in
# cognix's Nix library fails a test instead of being silently ignored by a real build.
{ common }:
let
  checked =
    "pkgs/stdenv/generic/make-derivation.nix @ 000b58721fef0d1cf693a6f2f4fa442b66fbe2bb"
    + " (stub is stricter: standard attributes only)";

  # The standard attributes cognix may set. All are read by make-derivation.nix, the
  # generic builder (setup.sh) or a standard setup hook (autoPatchelfHook).
  standardAttrs = [
    # naming
    "name"
    "pname"
    "version"
    # sources and outputs
    "src"
    "srcs"
    "sourceRoot"
    "patches"
    "outputs"
    # dependencies
    "nativeBuildInputs"
    "buildInputs"
    "propagatedBuildInputs"
    "propagatedNativeBuildInputs"
    # phases and hooks of the generic builder
    "dontUnpack"
    "dontConfigure"
    "dontBuild"
    "dontInstall"
    "dontFixup"
    "unpackPhase"
    "configurePhase"
    "buildPhase"
    "installPhase"
    "preUnpack"
    "postUnpack"
    "preBuild"
    "postBuild"
    "preInstall"
    "postInstall"
    "preFixup"
    "postFixup"
    "buildCommand"
    "passAsFile"
    "doCheck"
    "doInstallCheck"
    "enableParallelBuilding"
    # fixup
    "dontPatchShebangs"
    "dontStrip"
    "dontPatchELF"
    # autoPatchelfHook (auto-patchelf.sh)
    "dontAutoPatchelf"
    "autoPatchelfIgnoreMissingDeps"
    "appendRunpaths"
    "runtimeDependencies"
    # package attributes and derivation behaviour
    "passthru"
    "meta"
    "preferLocalBuild"
    "allowSubstitutes"
    "env"
    "strictDeps"
    "__structuredAttrs"
  ];

  # The attributes of a mkDerivation result that are package attributes rather than
  # derivation inputs, as nixpkgs exposes them.
  packageAttrs =
    attrs:
    (attrs.passthru or { })
    // {
      meta = attrs.meta or { };
    }
    // (if attrs ? pname then { inherit (attrs) pname; } else { })
    // (if attrs ? version then { inherit (attrs) version; } else { });

  # stdenv.mkDerivation (attrs | finalAttrs: attrs)
  #   attrs - any of `standardAttrs`; `name`, or `pname` and `version`, is required.
  # The function form is resolved as a fixed point, as nixpkgs does. The stub's own
  # builders on top of mkDerivation reuse this with their name, the file they were checked
  # against, their extra argument names and the name they default to.
  mkDerivationWith =
    {
      fn,
      extraChecked ? null,
      extraAllowed ? [ ],
      defaultName ? null,
    }:
    argsOrFunction:
    let
      given =
        if builtins.isFunction argsOrFunction then
          let
            fixed = argsOrFunction fixed;
          in
          fixed
        else
          argsOrFunction;
      args = common.checkArgs {
        inherit fn;
        checked = if extraChecked == null then checked else "${extraChecked} and ${checked}";
        allowed = standardAttrs ++ extraAllowed;
        args = given;
      };
      name =
        if args ? name then
          common.checkType fn "name" "string" args.name
        else if args ? pname && args ? version then
          "${args.pname}-${args.version}"
        else if defaultName != null then
          defaultName
        else
          throw (
            "nixpkgs-stub: ${fn} requires `name`, or `pname` and `version`"
            + " (checked against ${checked})"
          );
    in
    common.mkStubDrv {
      inherit fn name args;
      outputs = args.outputs or [ "out" ];
      passthru = packageAttrs args;
    };

  # stdenv.cc.cc is the unwrapped compiler; its `lib` output holds libstdc++ and libgcc_s,
  # which the apt table maps several -dev and runtime packages to.
  cc = common.mkPackage {
    attrPath = "stdenv.cc";
    pname = "gcc-wrapper";
    passthru.cc = common.mkPackage {
      attrPath = "stdenv.cc.cc";
      pname = "gcc";
      outputs = [
        "out"
        "lib"
      ];
    };
  };
in
{
  stdenv = {
    mkDerivation = mkDerivationWith { fn = "stdenv.mkDerivation"; };
    inherit cc;
  };
  # For the stub's own builders (mkShell, buildPythonApplication) that forward
  # mkDerivation attributes plus their own.
  inherit mkDerivationWith standardAttrs;
}
