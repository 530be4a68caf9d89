# INTERFACE TEST DOUBLE, never a build: the Python interpreters of the nixpkgs contract stub
# (DESIGN.md section 9), their package sets, and `buildPythonApplication`.
#
# Interpreter attributes checked against
# pkgs/development/interpreters/python/passthrufun.nix @
# 5927a0f50934a1e8c37dfca2909f9d613fddf90b (24.x era) with cpython/default.nix's
# `executable = libPrefix = "python${pythonVersion}"`: interpreter = "${self}/bin/${executable}",
# pythonVersion = "3.11", sitePackages = "lib/python3.11/site-packages", pkgs, withPackages.
# Which interpreters: every `pythons` minor of cognix/data/nixpkgs-pins.toml (the union of
# the pins), and python3 = the newest pin's `python3-default`.
#
# python.buildEnv.override checked against pkgs/development/interpreters/python/wrapper.nix
# as stored in the reference index (index id 875685300; commit not reported; nixfmt-era,
# makeBinaryWrapper): extraLibs ? [ ], extraOutputsToInstall ? [ ], postBuild ? "",
# ignoreCollisions ? false, permitUserSite ? false, makeWrapperArgs ? [ ], no ellipsis. The
# 23.11/24.05 wrapper.nix is believed to take the same six (UNCONFIRMED: not stored).
# STRICTER THAN NIXPKGS: nixpkgs' requiredPythonModules silently drops extraLibs entries
# without a `pythonModule` attribute; the stub throws, and also when an entry was built for
# another Python.
#
# buildPythonApplication checked against
# pkgs/development/interpreters/python/mk-python-derivation.nix as stored in the reference
# index (index id 56259249241; its commit is not reported; it is newer than the other
# stored version, 0045164b, and has pyproject/build-system/dependencies and
# lib.extendMkDerivation). It takes its named arguments plus `...` for mkDerivation; the
# stub takes the named ones below plus the stub's standard mkDerivation attributes.
# Only the project flake uses it, at the newest pin; cognix's generated flakes must not
# (DESIGN.md section 5: buildPythonPackage's format/pyproject changed between the pins).
{ common, stdenv }:
let
  pins = (common.readData "nixpkgs-pins.toml").pin;
  newestPin = builtins.foldl' (
    newest: pin: if pin.last-modified > newest.last-modified then pin else newest
  ) (builtins.head pins) pins;
  minors = common.unique (builtins.concatLists (map (pin: pin.pythons) pins));

  checkedEnv =
    "pkgs/development/interpreters/python/wrapper.nix (index id 875685300)";
  checkedApp =
    "pkgs/development/interpreters/python/mk-python-derivation.nix (index id 56259249241)";

  # The named arguments of mk-python-derivation.nix (newest stored version) that the stub
  # takes besides the standard mkDerivation attributes: pyproject ? null, format ? null,
  # build-system ? [ ], dependencies ? [ ], optional-dependencies ? { }, checkInputs,
  # nativeCheckInputs, pythonPath, disabled, catchConflicts, makeWrapperArgs ? [ ],
  # dontWrapPythonPrograms, dontUsePipInstall, permitUserSite, removeBinBytecode; and the
  # attributes its hooks read: pythonImportsCheck, pythonRelaxDeps, pythonRemoveDeps.
  pythonAppArgs = [
    "pyproject"
    "format"
    "build-system"
    "dependencies"
    "optional-dependencies"
    "checkInputs"
    "nativeCheckInputs"
    "pythonPath"
    "disabled"
    "catchConflicts"
    "makeWrapperArgs"
    "dontWrapPythonPrograms"
    "dontUsePipInstall"
    "permitUserSite"
    "removeBinBytecode"
    "pythonImportsCheck"
    "pythonRelaxDeps"
    "pythonRemoveDeps"
  ];

  # The Python packages the library and the project flake name (pname = attribute name).
  packageNames = [
    # cognix's Nix library: wheel installation and ELF inspection
    "installer"
    "pyelftools"
    # the project flake: build system, cognix's dependencies (pyproject.toml), test tools
    "hatchling"
    "cyclonedx-python-lib"
    "httpx"
    "jinja2"
    "packaging"
    "pydantic"
    "pyyaml"
    "rich"
    "tomli-w"
    "typer"
    "uv"
    "hypothesis"
    "mypy"
    "pytest"
    "types-pyyaml"
  ];

  interpreter =
    minor:
    let
      attr = attrOf minor;
      executable = "python${minor}";
      # Python packages carry `pythonModule` (python-packages-base.nix's toPythonModule),
      # which buildEnv and withPackages select on.
      pythonPackage =
        pname:
        common.mkPackage {
          attrPath = "${attr}.pkgs.${pname}";
          inherit pname;
          passthru.pythonModule = self;
        };

      # python.buildEnv.override { extraLibs; ignoreCollisions; ... }: the interpreter with
      # those packages in its site-packages. `python.buildEnv` itself is the empty env.
      envFn = "${attr}.buildEnv.override";
      checkModule =
        drv:
        if !(builtins.isAttrs drv && drv ? pythonModule) then
          throw (
            "nixpkgs-stub: ${envFn}: extraLibs element ${drv.name or (builtins.typeOf drv)}"
            + " has no pythonModule attribute (nixpkgs would silently leave it out)"
          )
        else if (drv.pythonModule.pythonVersion or null) != minor then
          throw (
            "nixpkgs-stub: ${envFn}: extraLibs element ${drv.name or "?"} is for Python"
            + " ${drv.pythonModule.pythonVersion or "?"}, not ${minor}"
          )
        else
          drv;
      buildEnvWith =
        given:
        let
          args = common.checkArgs {
            fn = envFn;
            checked = checkedEnv;
            allowed = [
              "extraLibs"
              "extraOutputsToInstall"
              "postBuild"
              "ignoreCollisions"
              "permitUserSite"
              "makeWrapperArgs"
            ];
            args = given;
          };
          env = common.mkStubDrv {
            fn = envFn;
            name = "python3-${minor}-env";
            inherit args;
            drvAttrs.checkedLibs = map checkModule (
              common.checkType envFn "extraLibs" "list" (args.extraLibs or [ ])
            );
            # nixpkgs: passthru = python.passthru // { interpreter; inherit python; env; }
            passthru = {
              inherit executable pkgs;
              python = self;
              pythonVersion = minor;
              sitePackages = "lib/${executable}/site-packages";
              interpreter = "${env}/bin/${executable}";
            };
          };
        in
        env;
      pkgs =
        builtins.listToAttrs (
          map (pname: {
            name = pname;
            value = pythonPackage pname;
          }) packageNames
        )
        // {
          # python3Packages.buildPythonApplication { pname; version; src; pyproject; ... }
          buildPythonApplication =
            let
              build = stdenv.mkDerivationWith {
                fn = "${attr}.pkgs.buildPythonApplication";
                extraChecked = checkedApp;
                extraAllowed = pythonAppArgs;
              };
            in
            given:
            if !(given ? pyproject || given ? format) then
              throw (
                "nixpkgs-stub: ${attr}.pkgs.buildPythonApplication needs `pyproject` or"
                + " `format` (checked against ${checkedApp})"
              )
            else
              build given;
        };
      self = common.mkPackage {
        attrPath = attr;
        pname = "python3";
        version = minor;
        passthru = {
          inherit executable pkgs;
          pythonVersion = minor;
          sitePackages = "lib/${executable}/site-packages";
          interpreter = "${self}/bin/${executable}";
          buildEnv = buildEnvWith { } // {
            override = buildEnvWith;
          };
          # python.withPackages (ps: [ ps.foo ... ]): an environment with those packages;
          # the stub records the chosen packages as stubArgs.packages.
          withPackages =
            choose:
            common.mkStubDrv {
              fn = "${attr}.withPackages";
              name = "python3-${minor}-env";
              args = {
                packages = common.checkType "${attr}.withPackages" "the function's result" "list" (
                  choose pkgs
                );
              };
            };
        };
      };
    in
    {
      name = attr;
      value = self;
    };

  interpreters = builtins.listToAttrs (map interpreter minors);
  attrOf = minor: "python" + builtins.replaceStrings [ "." ] [ "" ] minor;
  python3 = interpreters.${attrOf newestPin.python3-default};
in
interpreters
// {
  inherit python3;
  python3Packages = python3.pkgs;
}
