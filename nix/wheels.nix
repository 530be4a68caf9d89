/**
  One derivation per locked wheel: fetched with the hash in pylock.toml, installed by the
  standard `installer` rules, and patched with `autoPatchelfHook` so its ELF files find the
  libraries of the wheels it depends on. Each wheel is its own store path, so torch and the
  nvidia-* wheels become layers of their own, shared by every image that locks the same
  versions (DESIGN.md section 5).

  A wheel's derivation depends only on its own wheel, the wheels it needs, the Python and
  the C++ runtime: not on the project, its source or its system packages. Libraries that
  only the system packages provide are found at run time through LD_LIBRARY_PATH, and the
  image's library check (library-check.nix) makes sure every one is there.

  # Type

  ```
  wheels :: AttrSet -> { <package name> = Derivation; }
  ```

  Checked against nixpkgs: `stdenv.mkDerivation` (pkgs/stdenv/generic/make-derivation.nix),
  `fetchurl` (pkgs/build-support/fetchurl/default.nix @ 005b8027ceae), `autoPatchelfHook`
  (pkgs/build-support/setup-hooks/auto-patchelf.sh @ a2ff8c71b155) and the `pythonModule`
  passthru that `python.buildEnv` keeps (python-packages-base.nix); see
  docs/nixpkgs-interfaces.md and tests/nix/nixpkgs-stub for the commits read.
*/
{
  # The nixpkgs package set of the pin.
  pkgs,
  # The nixpkgs Python of the lock's minor version, e.g. pkgs.python311.
  python,
  # The locked packages (lock.nix `packages`).
  packages,
  # The image target (lock.nix `target`): { python; platform; }.
  target,
  # selectWheel from wheel-select.nix.
  selectWheel,
  # wheelTags from wheel-select.nix.
  wheelTags,
}:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elem
    filter
    genericClosure
    hasAttr
    listToAttrs
    map
    ;

  byName = listToAttrs (
    map (package: {
      inherit (package) name;
      value = package;
    }) packages
  );

  # Names of the locked packages `name` depends on directly; those the lock does not hold
  # (excluded by markers for this target) are left out.
  directDependencies =
    name:
    filter (dependency: hasAttr dependency byName) (
      map (dependency: dependency.name) (byName.${name}.dependencies or [ ])
    );

  # Every package reachable from `name`, memoised per name.
  closures = listToAttrs (
    map (name: {
      inherit name;
      value = listToAttrs (
        map
          (item: {
            name = item.key;
            value = true;
          })
          (genericClosure {
            startSet = map (key: { inherit key; }) (directDependencies name);
            operator = item: map (key: { inherit key; }) (directDependencies item.key);
          })
      );
    }) (attrNames byName)
  );

  # The wheels whose libraries `name` may link against: its dependency closure, without those
  # that depend back on it. Python packages can form cycles (torch and triton once did), and
  # a derivation cannot take its own output as input; a library inside such a cycle is left
  # unpatched, and the image's library check names it if nothing else provides it.
  librarySources =
    name:
    filter (dependency: dependency != name && !(hasAttr name closures.${dependency})) (
      attrNames closures.${name}
    );

  installerPath = "${python.pkgs.installer}/${python.sitePackages}";

  # Bash for preFixup: remember the `$ORIGIN` RUNPATH entries of every ELF file of the
  # output and register a postFixup hook, run after autoPatchelf's (registered when its
  # setup hook was sourced), that appends those entries again where they are missing.
  originRunpaths = ''
    cognixOriginRunpaths=()
    while IFS= read -r -d "" file; do
      isELF "$file" || continue
      runpath=$(patchelf --print-rpath "$file" 2>/dev/null) || continue
      kept=$(tr ":" "\n" <<<"$runpath" | grep -F '$ORIGIN' | paste -sd ":" -) || true
      if [ -n "$kept" ]; then
        cognixOriginRunpaths+=("$file" "$kept")
      fi
    done < <(find "$out" -type f -print0 | sort -z)
    cognixRestoreOriginRunpaths() {
      local i current
      for ((i = 0; i < ''${#cognixOriginRunpaths[@]}; i += 2)); do
        current=$(patchelf --print-rpath "''${cognixOriginRunpaths[i]}")
        if [[ $current != *'$ORIGIN'* ]]; then
          patchelf --add-rpath "''${cognixOriginRunpaths[i + 1]}" "''${cognixOriginRunpaths[i]}"
        fi
      done
    }
    postFixupHooks+=(cognixRestoreOriginRunpaths)
  '';

  mkWheel =
    name:
    let
      package = byName.${name};
      wheel = builtins.addErrorContext "while choosing the wheel of ${name} ${package.version}" (
        selectWheel target package
      );
      filename = (wheelTags wheel).filename;
      sources = map (dependency: installed.${dependency}) (librarySources name);
    in
    pkgs.stdenv.mkDerivation {
      pname = name;
      inherit (package) version;

      src = pkgs.fetchurl {
        url = wheel.url;
        sha256 = wheel.hashes.sha256;
        name = filename;
      };
      dontUnpack = true;
      dontConfigure = true;
      dontBuild = true;

      nativeBuildInputs = [ pkgs.autoPatchelfHook ];
      # What manylinux wheels expect from the system besides glibc (the baseline of
      # library-check.nix): gcc's runtime libraries, zlib and libcrypt.
      buildInputs = [
        pkgs.stdenv.cc.cc.lib
        pkgs.zlib
        pkgs.libxcrypt
      ];

      # `installer` is what nixpkgs' own wheel hook runs; --prefix puts the files where
      # python.buildEnv looks, and scripts get the Python that ran it in their shebang.
      # installer reads the distribution name from the file name, so it gets the wheel under
      # its own name, without the store hash (as nixpkgs' wheelUnpackHook does). It compiles
      # bytecode with SOURCE_DATE_EPOCH set by stdenv (hash-checked .pyc); a fixed hash seed
      # keeps the order of set constants, and so the .pyc bytes, the same from build to build.
      installPhase = ''
        runHook preInstall
        ln -s "$src" "$(stripHash "$src")"
        PYTHONHASHSEED=0 PYTHONPATH=${installerPath} ${python.interpreter} -m installer \
          --prefix "$out" "$(stripHash "$src")"
        runHook postInstall
      '';

      # autoPatchelf sets the RUNPATH of each ELF file it patches to the folders where it
      # found libraries, dropping the wheel's `$ORIGIN` entries, which libraries need to
      # dlopen their siblings (cuDNN's sub-libraries, NVRTC's builtins). They are recorded
      # here, before the fixup hooks, and appended again after autoPatchelf has run.
      preFixup = concatStringsSep "\n" (
        map (source: "addAutoPatchelfSearchPath ${source}/${python.sitePackages}") sources
        ++ [ originRunpaths ]
      );
      # Missing libraries do not fail this derivation: they may come from the image's system
      # packages or the GPU driver. library-check.nix fails the image instead, naming them.
      autoPatchelfIgnoreMissingDeps = [ "*" ];
      # Stripping would change the vendor's binaries for no gain in an image.
      dontStrip = true;

      passthru = {
        # Read by python.buildEnv: only derivations built for this Python go into the env.
        pythonModule = python;
        requiredPythonModules = [ ];
        inherit wheel;
        dependencies = directDependencies name;
      };
    };

  installed = listToAttrs (
    map (name: {
      inherit name;
      value = mkWheel name;
    }) (attrNames byName)
  );
in
installed
