# INTERFACE TEST DOUBLE, never a build. Shared helpers of the nixpkgs contract stub
# (DESIGN.md section 9): argument checking, the fake derivations every stubbed function
# returns, and the unfree-license check. Nothing here mirrors a nixpkgs file; the files
# that stub a nixpkgs function each name the nixpkgs file and commit they were checked
# against.
#
# Only builtins are used: the stub has no nixpkgs `lib` to lean on.
{
  # The `system` nixpkgs was imported with; every stub derivation is for it.
  system,
  # The `config` nixpkgs was imported with (already checked by default.nix).
  config,
}:
let
  # Turns a value into something builtins.toJSON accepts: functions cannot be serialised,
  # so they are dropped (from attribute sets and lists alike). Derivations and other sets
  # with an outPath are kept whole; toJSON writes their outPath and the string keeps its
  # context, so a dependency reaches the stub derivation as a real input.
  sanitise =
    value:
    if builtins.isFunction value then
      null
    else if builtins.isList value then
      map sanitise (builtins.filter (v: !builtins.isFunction v) value)
    else if builtins.isAttrs value && !(value ? outPath) then
      let
        functions = builtins.filter (n: builtins.isFunction value.${n}) (builtins.attrNames value);
      in
      builtins.mapAttrs (_: sanitise) (removeAttrs value functions)
    else
      value;

  # The builder of every stub derivation refuses to run: building one is always a mistake.
  refuseToBuild = [
    "-c"
    "echo 'nixpkgs-stub: interface test double (tests/nix/nixpkgs-stub), never built' >&2; exit 1"
  ];

  # The single characters of a string.
  characters = s: builtins.filter (c: builtins.isString c && c != "") (builtins.split "" s);

  # Whether the `allowUnfreePredicate` from config admits `pkg` (nixpkgs'
  # check-meta.nix calls the predicate with the package's mkDerivation attributes;
  # with no predicate every unfree package is refused).
  unfreeAllowed =
    pkg:
    if config ? allowUnfreePredicate then config.allowUnfreePredicate pkg else false;
in
rec {
  inherit sanitise;

  # readData "torch-cuda.toml": one of cognix's data tables, parsed (see data.nix).
  readData = import ./data.nix;

  # ASCII lower-casing (nixpkgs' lib.toLower), used for image names.
  toLower = builtins.replaceStrings (characters "ABCDEFGHIJKLMNOPQRSTUVWXYZ") (
    characters "abcdefghijklmnopqrstuvwxyz"
  );

  # The first `n` elements of `list`.
  take = n: list: builtins.genList (builtins.elemAt list) n;

  # The elements of `list` without repeats, in first-seen order.
  unique = builtins.foldl' (seen: x: if builtins.elem x seen then seen else seen ++ [ x ]) [ ];

  # Returns `args` unchanged, or throws when it has an attribute outside `allowed` or lacks
  # one of `required`. The message names the function, the argument and where the
  # argument list comes from, because that is what a test failure has to explain.
  #   fn       - the nixpkgs attribute path of the function, e.g. "fetchurl"
  #   checked  - "<nixpkgs file> @ <commit>" the argument list was read at
  #   allowed  - every argument name the function takes
  #   required - the names that have no default
  #   args     - the attribute set the caller passed
  checkArgs =
    {
      fn,
      checked,
      allowed,
      required ? [ ],
      args,
    }:
    let
      unknown = builtins.filter (n: !(builtins.elem n allowed)) (builtins.attrNames args);
      missing = builtins.filter (n: !(args ? ${n})) required;
    in
    if !builtins.isAttrs args then
      throw "nixpkgs-stub: ${fn} takes an attribute set, got a ${builtins.typeOf args}"
    else if unknown != [ ] then
      throw (
        "nixpkgs-stub: ${fn} does not take argument '${builtins.head unknown}'"
        + " (checked against ${checked})"
      )
    else if missing != [ ] then
      throw (
        "nixpkgs-stub: ${fn} requires argument '${builtins.head missing}'"
        + " (checked against ${checked})"
      )
    else
      args;

  # Throws unless `value` has the builtins.typeOf `type`.
  checkType =
    fn: what: type: value:
    if builtins.typeOf value == type then
      value
    else
      throw "nixpkgs-stub: ${fn}: ${what} must be a ${type}, got a ${builtins.typeOf value}";

  # A real derivation (builtins.derivation) standing for the result of a nixpkgs function.
  # Its attributes include the serialised arguments, so its drvPath changes with them and
  # two identical calls share one drvPath. The result also carries `stubFunction` and the
  # arguments as given (`stubArgs`) for tests to read with `nix eval --json`.
  #   fn      - the nixpkgs attribute path of the function ("dockerTools.streamLayeredImage")
  #   name    - the derivation name, as nixpkgs would give it
  #   args    - the arguments as given (functions among them are not serialised)
  #   outputs - output names; the first is the default output
  #   drvAttrs  - extra derivation attributes (fixed-output hashes, the unfree check)
  #   passthru  - extra attributes on the result, as nixpkgs' passthru would add
  mkStubDrv =
    {
      fn,
      name,
      args,
      outputs ? [ "out" ],
      drvAttrs ? { },
      passthru ? { },
    }:
    let
      drv = builtins.derivation (
        {
          inherit name system outputs;
          builder = "/bin/sh";
          args = refuseToBuild;
          stubFunction = fn;
          stubArgs = builtins.toJSON (sanitise args);
        }
        // drvAttrs
      );
    in
    drv
    // passthru
    // {
      stubFunction = fn;
      stubArgs = args;
    };

  # A nixpkgs package (not a function result): pname, version, name, the given outputs,
  # and for unfree packages a license check like nixpkgs' check-meta.nix
  # (pkgs/stdenv/generic/check-meta.nix @ 00284adb9c0a07c6d9803780609af29fbb29c216):
  # attribute access (pname, name, meta) works, but evaluating the drvPath or outPath of
  # any output throws unless config.allowUnfreePredicate returns true for the package.
  #   attrPath - where the package sits in the stub, e.g. "cudaPackages_12_1.libcublas"
  #   pname, version - as nixpkgs would have them (versions are stub placeholders)
  #   outputs  - output names, default first
  #   license  - null for free packages, else { shortName; fullName; free = false; }
  #   passthru - extra attributes on the package
  mkPackage =
    {
      attrPath,
      pname,
      version ? "stub",
      outputs ? [ "out" ],
      license ? null,
      passthru ? { },
    }:
    let
      name = "${pname}-${version}";
      meta = {
        description = "nixpkgs-stub stand-in for ${attrPath} (interface test double)";
        outputsToInstall = [ (builtins.head outputs) ];
      }
      // (if license == null then { } else { inherit license; });
      # What nixpkgs hands the predicate: the package's attributes, meta included.
      predicateArg = {
        inherit name pname version meta;
      };
      unfreeCheck =
        if license == null || unfreeAllowed predicateArg then
          "allowed"
        else
          throw (
            "Package ‘${name}’ in tests/nix/nixpkgs-stub (${attrPath})"
            + " has an unfree license (‘${license.shortName}’), refusing to evaluate."
          );
    in
    mkStubDrv {
      fn = attrPath;
      inherit name outputs;
      args = { };
      drvAttrs = {
        stubUnfreeCheck = unfreeCheck;
      };
      passthru = {
        inherit pname version meta;
      }
      // passthru;
    };
}
