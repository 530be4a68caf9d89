/**
  cognix's Nix library: every output of a cognix project, from the files `cognix generate`
  wrote beside cog.yaml. The generated flake.nix calls it; `.cognix/` holds a copy of this
  folder, so a project builds with nothing but its own files and the pinned nixpkgs.

  Each concern has its own file: lock.nix reads what was decided, wheel-select.nix and
  wheels.nix turn locked wheels into derivations, python-env.nix, system.nix and cuda.nix
  gather the image's packages, source.nix and schema.nix make /src, library-check.nix
  guards the image, run-steps.nix replays cog.yaml's run items, and image.nix assembles it.

  # Type

  ```
  cognix :: { nixpkgs; root; revision ? null; } -> { image; python-env; devShell; pkgs; }
  ```

  # Example

  ```nix
  (import ./.cognix { inherit nixpkgs; root = ./.; }).image
  => «derivation stream-cog-hello-world»
  ```
*/
{
  # The nixpkgs flake input (or any folder holding nixpkgs), at the lock's pin.
  nixpkgs,
  # The project folder, `./.` in the generated flake.
  root,
  # The revision of the project's repository, for the org.opencontainers.image.revision
  # label; null when unknown (a `path:` build or uncommitted changes).
  revision ? null,
}:
let
  inherit (builtins) concatStringsSep;

  lock = import ./lock.nix { inherit root; };
  inherit (lock) project;

  shell = import ./shell.nix;
  wheelSelection = import ./wheel-select.nix;

  pkgs = import nixpkgs {
    system = "x86_64-linux";
    # nixpkgs marks CUDA unfree; admit exactly the CUDA packages this lock uses.
    config.allowUnfreePredicate =
      package: builtins.elem (package.pname or package.name) cuda.unfreeNames;
  };
  attributes = import ./attributes.nix { inherit pkgs; };

  python =
    pkgs.${lock.nixpkgs.python-attr}
      or (throw (
        "cognix: the pinned nixpkgs has no ${lock.nixpkgs.python-attr} for Python "
        + "${lock.target.python}; run `cognix lock` again"
      ));

  wheels = import ./wheels.nix {
    inherit pkgs python;
    inherit (lock) packages target;
    inherit (wheelSelection) selectWheel wheelTags;
  };

  pythonEnv = import ./python-env.nix { inherit python wheels; };

  runSteps = import ./run-steps.nix {
    inherit pkgs shell;
    steps = lock.runSteps;
  };

  system = import ./system.nix {
    inherit pkgs attributes;
    inherit (lock) systemPackages;
    extraAttributes =
      map (attribute: {
        origin = "cognix.toml [image] extra-nixpkgs";
        inherit attribute;
      }) project.extra-nixpkgs
      ++ runSteps.extraAttributes;
  };

  cuda = import ./cuda.nix {
    inherit attributes;
    inherit (lock) cuda systemPackages;
    inherit (project) gpu;
  };

  libraryPath =
    cuda.libraryPath ++ system.libraryPath ++ map (package: "${package}/lib") cuda.packages;

  source = import ./source.nix {
    inherit root;
    alwaysExcluded = [
      ".git"
      ".cognix"
      # What an interrupted `cognix generate` may leave (write.py cleans these up too).
      ".cognix.*"
      ".cog"
      "flake.nix"
      "flake.lock"
      "result"
      "result-*"
    ];
  };

  schema = import ./schema.nix {
    inherit pkgs shell source;
    inherit (project) predictor trainer;
    # .cognix/ carries its own copy; the repository's nix/ (the project flake's `lib`) uses
    # the package itself.
    schemaModule =
      if builtins.pathExists ./cognix_schema then ./cognix_schema else ../cognix/schema;
    cogVersion = lock.cogVersion;
    expected = project.labels."run.cog.openapi_schema";
  };

  libraryCheck = import ./library-check.nix {
    inherit pkgs wheels libraryPath;
    allowedMissing = project.libraries-left-out;
  };

  environment =
    [
      "PATH=${pythonEnv}/bin:/usr/bin:/bin"
      "PYTHONUNBUFFERED=1"
      "SSL_CERT_FILE=${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"
    ]
    ++ (
      if libraryPath == [ ] then
        [ ]
      else
        [ "LD_LIBRARY_PATH=${concatStringsSep ":" libraryPath}" ]
    )
    ++ map (name: "${name}=${cuda.environment.${name}}") (builtins.attrNames cuda.environment)
    ++ project.environment
    ++ [ "COG_PREDICT_TYPE_STUB=${project.predictor}" ]
    ++ (if project.trainer == null then [ ] else [ "COG_TRAIN_TYPE_STUB=${project.trainer}" ])
    ++ (
      if project.concurrency == null then
        [ ]
      else
        [ "COG_MAX_CONCURRENCY=${toString project.concurrency}" ]
    );

  labels =
    project.labels
    // (if revision == null then { } else { "org.opencontainers.image.revision" = revision; });

  image = import ./image.nix {
    inherit
      pkgs
      pythonEnv
      source
      schema
      libraryCheck
      environment
      labels
      ;
    inherit (project) name;
    packages = system.runtime ++ cuda.packages;
    runCommands = runSteps.commands;
    maxLayers = project.max-layers;
  };
in
{
  inherit image pkgs wheels;
  python-env = pythonEnv;

  devShell = pkgs.mkShell {
    packages = [ pythonEnv ] ++ system.runtime ++ system.buildTools ++ cuda.packages;
    shellHook = ''
      export LD_LIBRARY_PATH=${shell.quote (concatStringsSep ":" libraryPath)}
      export COG_PREDICT_TYPE_STUB=${shell.quote project.predictor}
    '';
  };
}
