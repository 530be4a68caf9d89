/**
  The Cog image: `dockerTools.streamLayeredImage` over the Python env, the system packages
  and the project source, with the configuration Cog's own images have (DESIGN.md section
  5). The result is a script that writes the image as a docker-archive to stdout.

  Every store path is a layer of its own until `maxLayers` is reached, so models that lock
  the same wheels (torch, the nvidia-* ones) share those layers. nixpkgs orders the paths by
  how many others refer to them; when the closure has more paths than `maxLayers` - 1, the
  least referred-to share the last layer, and a wheel there is shared no more. Raising
  cognix.toml's `[image] max-layers` (up to 125) keeps more of them apart. Times are
  nixpkgs' fixed 1970-01-01T00:00:01Z and the tag is derived from the image's
  configuration, so the same inputs give the same image.

  Checked against nixpkgs pkgs/build-support/docker/default.nix @ 34b7a306c35b and the
  dockerTools manual @ b09f2c739a3e: only arguments present at every pin are used.

  # Type

  ```
  image :: AttrSet -> Derivation   # the stream script
  ```
*/
{
  # The nixpkgs package set of the pin.
  pkgs,
  # The image name, "cog-hello-world".
  name,
  # python-env.nix.
  pythonEnv,
  # Packages whose files the image holds besides Python: system packages, CUDA.
  packages,
  # The filtered project source (source.nix), copied to /src.
  source,
  # The OpenAPI schema file (schema.nix), copied to /src/.cog/openapi_schema.json.
  schema,
  # library-check.nix; the image is not built unless it passes.
  libraryCheck,
  # Bash run under fakechroot in the image root (run-steps.nix `commands`).
  runCommands,
  # Image environment variables as [ "NAME=value" ], in order; later ones win.
  environment,
  # Image labels: { "run.cog.config" = "…"; … }.
  labels,
  # The largest number of layers, 2 to 125 (cognix.toml `[image] max-layers`).
  maxLayers,
}:
let
  passwd = pkgs.writeText "passwd" ''
    root:x:0:0:root:/root:/bin/sh
    nobody:x:65534:65534:nobody:/nonexistent:/bin/false
  '';
  group = pkgs.writeText "group" ''
    root:x:0:
    nogroup:x:65534:
  '';
in
pkgs.dockerTools.streamLayeredImage {
  inherit name maxLayers;

  contents = [
    pythonEnv
    pkgs.bashInteractive
    pkgs.coreutils
    pkgs.cacert
    pkgs.tini
  ]
  ++ packages;

  # Runs in the customisation layer's root without privileges; the layer is packed with
  # the modes set here (1777 for /tmp) and nixpkgs' fixed mtime.
  extraCommands = ''
    # The library check has passed: ${libraryCheck}
    mkdir -p etc root tmp usr/bin
    chmod 1777 tmp
    rm -f etc/passwd etc/group
    cp ${passwd} etc/passwd
    cp ${group} etc/group
    ln -sfn ${pkgs.coreutils}/bin/env usr/bin/env
    mkdir -p src
    cp -r ${source}/. src/
    chmod -R u+w src
    mkdir -p src/.cog
    cp ${schema} src/.cog/openapi_schema.json
  '';

  fakeRootCommands = runCommands;
  enableFakechroot = runCommands != "";

  config = {
    Entrypoint = [
      "${pkgs.tini}/bin/tini"
      "--"
    ];
    Cmd = [
      "python"
      "-m"
      "cog.server.http"
    ];
    WorkingDir = "/src";
    ExposedPorts = {
      "5000/tcp" = { };
    };
    Env = environment;
    Labels = labels;
  };
}
