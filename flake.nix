# cognix's own flake: the `cognix` command (packages.x86_64-linux.default), a development
# shell, and `lib`, the Nix library that the flakes cognix generates use (nix/).
#
# nixpkgs is the newest pin of cognix/data/nixpkgs-pins.toml (nixos-26.05); flake.lock is
# written by hand from that entry, so it is checked rather than fetched. Tests evaluate this
# flake against the nixpkgs contract stub (tests/test_nix_stub.py), never build it.
{
  description = "Build Replicate Cog models into reproducible OCI images with Nix";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/5880666fd9eb563038431edb35c2d0aa595884e6";

  outputs =
    { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = import nixpkgs { inherit system; };
      python3Packages = pkgs.python3Packages;

      pyproject = builtins.fromTOML (builtins.readFile ./pyproject.toml);
      version = builtins.head (
        builtins.match ".*__version__ = \"([^\"]+)\".*" (builtins.readFile ./cognix/__init__.py)
      );

      # "tomli-w>=1.0" -> "tomli-w", "types-PyYAML" -> "types-pyyaml": the PEP 503 name,
      # which is how nixpkgs names its Python packages.
      lowerCase = builtins.replaceStrings (characters "ABCDEFGHIJKLMNOPQRSTUVWXYZ") (
        characters "abcdefghijklmnopqrstuvwxyz"
      );
      characters = s: builtins.filter (c: builtins.isString c && c != "") (builtins.split "" s);
      requirementName =
        spec:
        lowerCase (
          builtins.replaceStrings [ "_" "." ] [ "-" "-" ] (
            builtins.head (builtins.match "([A-Za-z0-9._-]+).*" spec)
          )
        );
      pythonPackagesFor = ps: specs: map (spec: ps.${requirementName spec}) specs;

      # The tools cognix runs (DESIGN.md section 6): nix to build, skopeo to push and
      # convert, uv to lock and for `predict --local`.
      runtimeTools = [
        pkgs.nix
        pkgs.skopeo
        pkgs.uv
      ];
      binPath = builtins.concatStringsSep ":" (map (tool: "${tool}/bin") runtimeTools);

      # Only what the wheel needs: pyproject.toml (metadata), README.md (readme), cognix/,
      # and nix/, which the wheel carries as cognix/nix for `cognix generate`.
      source = builtins.path {
        name = "cognix-source";
        path = ./.;
        filter =
          path: type:
          let
            relative = builtins.substring (builtins.stringLength (toString ./.) + 1) (-1) (
              toString path
            );
          in
          builtins.elem relative [
            "pyproject.toml"
            "README.md"
            "cognix"
            "nix"
          ]
          || (
            builtins.match "(cognix|nix)/.*" relative != null
            && builtins.match ".*(__pycache__|\\.pyc)$" relative == null
          );
      };

      cognix = python3Packages.buildPythonApplication {
        pname = "cognix";
        inherit version;
        src = source;
        pyproject = true;
        build-system = [ python3Packages.hatchling ];
        dependencies = pythonPackagesFor python3Packages pyproject.project.dependencies;
        # mk-python-derivation.nix passes these to wrapProgram for every script in bin/.
        makeWrapperArgs = [
          "--prefix"
          "PATH"
          ":"
          binPath
        ];
        meta = {
          description = pyproject.project.description;
          mainProgram = "cognix";
        };
      };

      # ruff is a standalone program; the rest of the test extra goes into the Python env
      # so mypy sees cognix's dependencies.
      testRequirements = builtins.filter (spec: requirementName spec != "ruff") (
        pyproject.project.optional-dependencies.test
      );
      developmentPython = pkgs.python3.withPackages (
        ps:
        pythonPackagesFor ps (pyproject.project.dependencies ++ testRequirements)
        ++ [ ps.hatchling ]
      );
    in
    {
      packages.${system}.default = cognix;

      devShells.${system}.default = pkgs.mkShell {
        packages = [
          developmentPython
          pkgs.ruff
        ]
        ++ runtimeTools;
      };

      lib = import ./nix;
    };
}
